"""deploy/: every file parses, the production dagster.yaml loads into a real DagsterInstance
on the test PostgreSQL, Helm's values give the instance the same limits, and compose and Helm
agree on image, code location and variables."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families
from psycopg.conninfo import conninfo_to_dict

from analytics_pipeline.db.embedded import SERVER_SETTINGS, missing_settings
from analytics_pipeline.db.urls import libpq_url
from tests.web_helpers import web_server

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def load(name: str):
    return yaml.safe_load((DEPLOY / name).read_text())


def load_all(name: str) -> list:
    return list(yaml.safe_load_all((DEPLOY / name).read_text()))


@pytest.mark.parametrize("name", sorted(str(p.relative_to(DEPLOY)) for p in DEPLOY.rglob("*.y*ml")))
def test_every_yaml_file_parses(name):
    documents = load_all(name)
    assert documents and all(isinstance(d, dict) for d in documents)


def test_dockerfile_builds_the_code_location():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", text, re.M)
    assert "dbt parse" in text and "deploy/dagster.yaml ${DAGSTER_HOME}/dagster.yaml" in text
    assert "--module-name analytics_pipeline.definitions" in text
    helm_landing = {
        e["name"]: e["value"] for e in load("helm/values.yaml")["dagster-user-deployments"]["deployments"][0]["env"]
    }["ANALYTICS_LANDING_DIR"]
    assert helm_landing.startswith("s3://") and "pip install '.[s3]'" in text  # the image can read it
    for copied in re.findall(r"^COPY (\S+)", text, re.M):
        if not copied.startswith("deploy/"):
            assert (DEPLOY.parent / copied).exists(), copied


def test_production_dagster_yaml_loads_into_a_real_instance(new_database, tmp_path, monkeypatch):
    params = {"port": "5432", "password": ""} | conninfo_to_dict(libpq_url(new_database()))
    host = str(params.get("host") or "")
    if host.startswith("/"):  # the embedded server listens on a socket: libpq finds it through PGHOST
        monkeypatch.setenv("PGHOST", host)
        host = ""
    for var, value in (
        ("HOST", host),
        ("PORT", params["port"]),
        ("USER", params["user"]),
        ("PASSWORD", params["password"]),
        ("DB", params["dbname"]),
    ):
        monkeypatch.setenv(f"DAGSTER_PG_{var}", str(value))
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits
        assert instance.run_monitoring_enabled and instance.run_retries_enabled
        # Really on the database: a run written is a run read back.
        run = instance.create_run_for_job(dg.GraphDefinition(name="noop").to_job())
        assert instance.get_run_by_id(run.run_id) is not None


def test_embedded_and_compose_servers_get_the_same_settings(server_url):
    command = load("docker-compose.yml")["services"]["postgres"]["command"]
    flags = dict(command[i + 1].split("=", 1) for i, part in enumerate(command) if part == "-c")
    assert flags == SERVER_SETTINGS
    if not os.environ.get("ANALYTICS_DATABASE_URL"):  # the test server is embedded: configured as ours
        with psycopg.connect(server_url) as conn:
            assert conn.execute("SHOW max_wal_size").fetchone()[0] == SERVER_SETTINGS["max_wal_size"]
            assert conn.execute("SHOW wal_compression").fetchone()[0] != "off"
            # Read only at start: the server was restarted to apply it.
            assert conn.execute("SHOW shared_buffers").fetchone()[0] == SERVER_SETTINGS["shared_buffers"]
            assert missing_settings(conn) == {}  # a later start finds them in place


def analytics_variables(names) -> set[str]:
    return {n for n in names if n.startswith("ANALYTICS_")}


def test_helm_gives_the_instance_the_limits_dagster_yaml_gives_it():
    """The Helm chart writes the Kubernetes instance's dagster.yaml from its values: the run
    queue, the dbt pools, run monitoring and retries must be those of deploy/dagster.yaml."""
    instance, helm = load("dagster.yaml"), load("helm/values.yaml")
    daemon = helm["dagsterDaemon"]
    queue = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert daemon["runCoordinator"]["type"] == instance["run_coordinator"]["class"]
    assert queue["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    assert queue["tagConcurrencyLimits"] == instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert queue["dequeueIntervalSeconds"] == instance["run_coordinator"]["config"]["dequeue_interval_seconds"]
    assert helm["concurrency"]["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    monitoring = {
        "startTimeoutSeconds": "start_timeout_seconds",
        "maxResumeRunAttempts": "max_resume_run_attempts",
        "pollIntervalSeconds": "poll_interval_seconds",
        "freeSlotsAfterRunEndSeconds": "free_slots_after_run_end_seconds",
    }
    for helm_key, instance_key in monitoring.items():
        assert daemon["runMonitoring"][helm_key] == instance["run_monitoring"][instance_key], helm_key
    assert daemon["runRetries"]["maxRetries"] == instance["run_retries"]["max_retries"]


def test_compose_starts_the_services_once_both_databases_are_migrated():
    """The code server migrates the analytics schema (and its roles) and Dagster's storage
    before it serves, and is healthy only once it serves: the webserver, the daemon and the
    web app wait for that, instead of racing to create Dagster's tables (which fails one of
    them now and then) or logging in as a role not made yet."""
    services = load("docker-compose.yml")["services"]
    command = " ".join(services["user_code"]["command"])
    steps = ("analytics-pipeline db migrate &&", "dagster instance migrate &&", "exec dagster api grpc")
    assert [command.index(step) for step in steps] == sorted(command.index(step) for step in steps)
    port = re.search(r"--port (\d+)", command).group(1)
    assert services["user_code"]["healthcheck"]["test"] == ["CMD", "dagster", "api", "grpc-health-check", "-p", port]
    for name in ("webserver", "daemon", "web"):
        assert services[name]["depends_on"] == {"user_code": {"condition": "service_healthy"}}, name


def test_helm_migrates_the_analytics_schema_before_the_code_server_starts():
    """On Kubernetes too the schema is migrated before anything uses it: an init container of
    the code server's pod, from its image and with its secret, valid as Kubernetes takes it."""
    import kubernetes_validate

    deployment = load("helm/values.yaml")["dagster-user-deployments"]["deployments"][0]
    (init,) = deployment["initContainers"]
    assert init["command"] == ["analytics-pipeline", "db", "migrate"]
    assert init["image"] == f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    assert [source["secretRef"] for source in init["envFrom"]] == deployment["envSecrets"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "user-code"},
        "spec": {"initContainers": [init], "containers": [{"name": "user-code", "image": init["image"]}]},
    }
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(pod, version, strict=True)


def test_compose_and_helm_name_the_same_image_location_and_variables():
    compose = load("docker-compose.yml")
    helm = load("helm/values.yaml")
    secret = load("helm/analytics-pipeline-env.secret.yaml")
    deployment = helm["dagster-user-deployments"]["deployments"][0]

    helm_image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    dagster_services = ("user_code", "webserver", "daemon", "web")
    assert {compose["services"][s]["image"] for s in dagster_services} == {helm_image}
    assert compose["services"]["user_code"]["environment"]["DAGSTER_CURRENT_IMAGE"] == helm_image

    workspace = load("workspace.yaml")["load_from"][0]["grpc_server"]
    assert workspace["location_name"] == deployment["name"]
    assert f"--location-name {deployment['name']}" in " ".join(compose["services"]["user_code"]["command"])
    assert "analytics_pipeline.definitions" in deployment["dagsterApiGrpcArgs"]

    compose_vars = analytics_variables(compose["x-analytics-env"])
    helm_vars = analytics_variables([e["name"] for e in deployment["env"]]) | analytics_variables(secret["stringData"])
    run_vars = analytics_variables(
        v.split("=", 1)[0] for v in helm["runLauncher"]["config"]["k8sRunLauncher"]["envVars"]
    )
    assert compose_vars == helm_vars
    assert run_vars | analytics_variables(secret["stringData"]) == helm_vars  # run pods get the same
    assert helm["runLauncher"]["type"] == "K8sRunLauncher"
    # Every variable the code reads is set in production.
    code = "\n".join(p.read_text() for p in (DEPLOY.parent / "analytics_pipeline").rglob("*.py"))
    read = set(re.findall(r'"(ANALYTICS_[A-Z_]+)"', code)) - {
        "ANALYTICS_HOME",
        "ANALYTICS_LANDING_SENSOR_SECONDS",
        "ANALYTICS_REQUEST_AGAIN_SECONDS",
        "ANALYTICS_DAGSTER_STORAGE_URL",
        # The local instance's run monitoring; production's is in deploy/dagster.yaml.
        "ANALYTICS_RUN_START_TIMEOUT_SECONDS",
        "ANALYTICS_RUN_MAX_RUNTIME_SECONDS",
    }
    # Set for dbt by the code itself: the database URL's parts, a partition's window.
    read -= {n for n in read if n.startswith("ANALYTICS_DBT_")}
    web_vars = analytics_variables(compose["services"]["web"]["environment"])
    assert read <= compose_vars | web_vars, read - compose_vars - web_vars


def test_the_web_app_is_deployed_with_its_login_role_only():
    config_code = (DEPLOY.parent / "analytics_pipeline" / "config.py").read_text()
    web_code = config_code[config_code.index("web=WebSettings(") :]
    web_read = set(re.findall(r'"(ANALYTICS_[A-Z_]+)"', web_code)) | {
        "ANALYTICS_PII_KEY",
        "ANALYTICS_DIRECTORY_KEY",
        "ANALYTICS_ENV",
    }
    assert "ANALYTICS_WEB_DATABASE_URL" in web_read and "ANALYTICS_JWT_SECRET" in web_read
    compose_web = load("docker-compose.yml")["services"]["web"]
    secret, deployment, _ = load_all("kubernetes/web.yaml")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    k8s_vars = set(secret["stringData"]) | {e["name"] for e in container["env"]}
    for names in (set(compose_web["environment"]), k8s_vars):
        assert web_read <= names, web_read - names
        # The owner's URL never reaches the web process: it logs in as analytics_web.
        assert "ANALYTICS_DATABASE_URL" not in names
    assert compose_web["environment"]["ANALYTICS_WEB_DATABASE_URL"].startswith("postgresql://analytics_web:")
    assert secret["stringData"]["ANALYTICS_WEB_DATABASE_URL"].startswith("postgresql://analytics_web:")
    assert "serve" in compose_web["command"] and "serve" in container["args"]
    init = (DEPLOY / "initdb" / "02-web-role.sh").read_text()
    assert "CREATE ROLE analytics_web LOGIN NOINHERIT" in init
    postgres_env = load("docker-compose.yml")["services"]["postgres"]["environment"]
    assert "ANALYTICS_WEB_PASSWORD" in postgres_env


def promtool(*args: str) -> str:
    done = subprocess.run(["promtool", *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_alert_rules_check_and_pass_their_unit_tests():
    assert "SUCCESS: 7 rules found" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")


def metric_names(expressions) -> set[str]:
    return {name for expr in expressions for name in re.findall(r"\b(?:analytics|collector)_[a-z0-9_]+", expr)}


def test_every_metric_the_alerts_and_the_dashboard_use_is_exported(migrated_db, tmp_path):
    rules = [rule["expr"] for group in load("prometheus/alerts.yml")["groups"] for rule in group["rules"]]
    dashboard = json.loads((DEPLOY / "grafana" / "analytics-pipeline.json").read_text())
    panels = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = metric_names(rules) | metric_names(panels)
    with web_server(tmp_path, migrated_db, parts=("ingest",)) as base:
        families = text_string_to_metric_families(requests.get(base + "/metrics", timeout=30).text)
        exported = {sample.name for family in families for sample in family.samples}
    assert used and used <= exported, used - exported


# The Kubernetes releases supported today: every manifest must be valid for each.
KUBERNETES_VERSIONS = ("1.35.0", "1.36.0", "1.37.0")


@pytest.mark.parametrize("manifest", ["kubernetes/web.yaml", "helm/analytics-pipeline-env.secret.yaml"])
def test_every_kubernetes_manifest_is_valid_for_the_supported_kubernetes_releases(manifest):
    import kubernetes_validate

    resources = [r for r in load_all(manifest) if r]
    assert resources
    for resource in resources:
        for version in KUBERNETES_VERSIONS:
            # strict: a misspelt or misplaced field is an error, not ignored
            kubernetes_validate.validate(resource, version, strict=True)
