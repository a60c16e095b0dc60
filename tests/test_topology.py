"""The production topology as processes on loopback, without containers, with the commands and
environment deploy/docker-compose.yml gives each service: PostgreSQL (the embedded server),
the user-code gRPC server (after `analytics-pipeline db migrate`), dagster-webserver and
dagster-daemon on deploy/dagster.yaml itself (Postgres storage, QueuedRunCoordinator, run
monitoring, retries; the local run launcher standing in for Kubernetes'), the web app with
only its login role's URL, and the landing zone on S3 (moto's server, through s3fs). Events
posted to the web app land in S3, the daemon's sensors ingest them through the code server,
the marts refresh, and the admin API serves them. `make topology` runs it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import requests
from psycopg.conninfo import conninfo_to_dict

from analytics_pipeline.access.credentials import create_token, create_write_key
from analytics_pipeline.access.grants import ensure_role, grant
from analytics_pipeline.db.urls import libpq_url
from analytics_pipeline.web.config import web_database_url
from tests.conftest import TEST_DIRECTORY_KEY, TEST_PII_KEY, cli_command, free_port
from tests.landing_helpers import event
from tests.test_s3_landing import BUCKET, objects, s3  # noqa: F401 (the S3 server fixture)

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.e2e


class Services:
    """Processes, each in a group of its own, all stopped (with their children) at the end."""

    def __init__(self, logs: Path):
        self.logs, self.processes = logs, []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(self.logs.glob("*.log")))


def wait_until(check, timeout: float, what: str, services: Services) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException, psycopg.OperationalError):
            if check():
                return
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout} s\n{services.tail()}")


def graphql(url: str, query: str) -> dict:
    answer = requests.post(url + "/graphql", json={"query": query}, timeout=30)
    answer.raise_for_status()
    return answer.json()["data"]


def test_the_production_topology_runs_as_separate_processes(s3, new_database, tmp_path):  # noqa: F811
    analytics_url, dagster_url = new_database(), new_database()
    storage = {"port": "5432", "password": ""} | conninfo_to_dict(libpq_url(dagster_url))
    socket = str(storage.get("host") or "").startswith("/")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    grpc_port, webserver_port, web_port = free_port(), free_port(), free_port()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - grpc_server:\n"
        f"      host: 127.0.0.1\n      port: {grpc_port}\n      location_name: analytics-pipeline\n"
    )
    landing = f"s3://{BUCKET}/topology"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
    # As docker-compose.yml's x-analytics-env: the code server, webserver and daemon share it.
    analytics_env = {
        **base_env,
        "DAGSTER_HOME": str(home),
        # The embedded server listens on a socket, which libpq finds through PGHOST.
        "DAGSTER_PG_HOST": "" if socket else str(storage.get("host") or ""),
        "DAGSTER_PG_PORT": str(storage["port"]),
        "DAGSTER_PG_USER": str(storage["user"]),
        "DAGSTER_PG_PASSWORD": str(storage["password"]),
        "DAGSTER_PG_DB": str(storage["dbname"]),
        **({"PGHOST": str(storage["host"])} if socket else {}),
        "ANALYTICS_DATABASE_URL": analytics_url,
        "ANALYTICS_LANDING_DIR": landing,
        "ANALYTICS_PII_KEY": TEST_PII_KEY,
        "ANALYTICS_DIRECTORY_KEY": TEST_DIRECTORY_KEY,
        "ANALYTICS_ENV": "production",
        "ANALYTICS_LANDING_SENSOR_SECONDS": "5",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    # The web app holds its login role's URL and the keys, never the owner's URL.
    web_env = {
        **base_env,
        "ANALYTICS_WEB_DATABASE_URL": web_database_url(analytics_url),
        "ANALYTICS_LANDING_DIR": landing,
        "ANALYTICS_PII_KEY": TEST_PII_KEY,
        "ANALYTICS_DIRECTORY_KEY": TEST_DIRECTORY_KEY,
        "ANALYTICS_ENV": "production",
    }
    # Both databases migrated first, as the compose file's code server does before it serves.
    for command in (cli_command("db", "migrate"), [str(BIN / "dagster"), "instance", "migrate"]):
        done = subprocess.run(command, env=analytics_env, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr
    done = subprocess.run(
        cli_command("generate", "--landing", landing, "--orgs", "2", "--learners", "30", "--days", "1"),
        env=analytics_env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    services = Services(tmp_path)
    try:
        services.start(
            "user_code",
            [
                str(BIN / "dagster"),
                "api",
                "grpc",
                "-m",
                "analytics_pipeline.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(grpc_port),
            ],
            analytics_env,
        )
        services.start(
            "webserver",
            [str(BIN / "dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1", "-p", str(webserver_port)],
            analytics_env,
        )
        services.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], analytics_env)
        services.start(
            "web",
            cli_command("serve", "--landing", landing, "--host", "127.0.0.1", "--port", str(web_port)),
            web_env,
        )
        dagster_ui, web = f"http://127.0.0.1:{webserver_port}", f"http://127.0.0.1:{web_port}"
        with psycopg.connect(analytics_url, autocommit=True) as conn:
            key = create_write_key(conn, "lms").key
            ensure_role(conn, "topology_tenant")
            grant(conn, "topology_tenant", "org_1")
            token = create_token(conn, "topology_tenant").token
        wait_until(lambda: requests.get(web + "/api/health", timeout=5).ok, 120, "the web app answered", services)
        # An event posted to the web app lands in S3 ...
        enrollments = objects("topology/reference/enrollments.csv")["topology/reference/enrollments.csv"]
        _org, user, course = enrollments.decode().splitlines()[1].split(",")[:3]
        posted = event(user, course)
        answer = requests.post(
            web + "/api/analytics/events/batch",
            json={"events": [posted]},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        today = objects(f"topology/events/received_date={datetime.now(UTC).date().isoformat()}/")
        landed = [json.loads(line) for body in today.values() for line in body.splitlines()]
        assert [e["clientEventId"] for e in landed] == [posted["clientEventId"]]

        # ... and the daemon's sensors ingest it and the generated days through the code server,
        # the marts refresh, and the admin API serves them.
        def served() -> bool:
            reply = requests.get(
                web + "/api/admin/analytics",
                params={"organization_id": "org_1"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            return reply.status_code == 200 and sum(c["enrolled_learners"] for c in reply.json()["courses"]) > 0

        def marts_built() -> bool:
            runs = graphql(dagster_ui, "{ runsOrError { ... on Runs { results { jobName status } } } }")
            return any(r["jobName"] == "marts_job" and r["status"] == "SUCCESS" for r in runs["runsOrError"]["results"])

        wait_until(lambda: marts_built() and served(), 240, "the marts built and the admin API serving them", services)
        with psycopg.connect(analytics_url) as conn:
            stored = conn.execute(
                "SELECT count(*) FROM raw.analytics_events WHERE client_event_id = %s", (posted["clientEventId"],)
            ).fetchone()[0]
        runs = graphql(
            dagster_ui,
            "{ runsOrError { ... on Runs { results { jobName status assetMaterializations { assetKey { path } } } } } }",
        )["runsOrError"]["results"]
        locations = graphql(
            dagster_ui,
            "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename } } } } }",
        )["workspaceOrError"]["locationEntries"]
    finally:
        services.stop()
    assert stored == 1
    assert [(entry["name"], entry["locationOrLoadError"]["__typename"]) for entry in locations] == [
        ("analytics-pipeline", "RepositoryLocation")
    ]
    succeeded = {run["jobName"] for run in runs if run["status"] == "SUCCESS"}
    assert {"reference_job", "ingest_partition_job"} <= succeeded, runs
    materialized = {tuple(m["assetKey"]["path"]) for run in runs for m in run["assetMaterializations"]}
    assert ("raw_analytics_events",) in materialized and ("org_insights",) in materialized
    # Stopping it leaves no process behind.
    assert all(process.poll() is not None for process in services.processes)
    for pattern in (str(workspace), f"-p {grpc_port}", f"--port {web_port}"):
        assert subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split() == [], pattern
