"""The admin API on the marts of the ~10 M-event history (run after bench.marts): p50/p95 of
`GET /api/admin/analytics` per org under 20 concurrent clients, each org's token a tenant role
under row-level security, beside the same document's queries sent straight to PostgreSQL as
that role on one connection (what the database alone costs). Then a 1 M-row CSV export through
the API, beside the CLI's COPY export of the same rows."""

from __future__ import annotations

import http.client
import os
import random
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests
from psycopg import sql

from analytics_pipeline.access.credentials import create_token
from analytics_pipeline.access.export import export_mart
from analytics_pipeline.access.grants import ensure_role, grant
from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.web.admin_queries import OVERVIEW
from analytics_pipeline.web.config import web_database_url
from bench.common import Figure, percentile
from scripts.serving import running, wait_for

TARGET_P95_MS = 50
EXPORT_TARGET_SECONDS = 5.0


@contextmanager
def serving(database_url: str, landing: Path, port: int = 8765, **settings: str):
    """`analytics-pipeline serve --only admin` in its own process, as the web login role, with
    `settings` as further environment variables."""
    env = {**os.environ, "ANALYTICS_WEB_DATABASE_URL": web_database_url(database_url), **settings}
    with running("serve", "--only", "admin", "--landing", str(landing), "--port", str(port), env=env):
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/api/admin/openapi.json", timeout=60)
        yield base


def tenant_tokens(conn: psycopg.Connection, orgs: list[str]) -> dict[str, tuple[str, str]]:
    """org -> (role, token): one tenant role per org, granted that org only."""
    tokens = {}
    for org in orgs:
        role = f"bench_tenant_{org}"
        ensure_role(conn, role)
        grant(conn, role, org)
        tokens[org] = (role, create_token(conn, role).token)
    return tokens


def direct_latencies(url: str, tokens: dict, requests_count: int) -> list[float]:
    """The document's queries as the tenant role, straight to PostgreSQL, one after another."""
    rng, latencies = random.Random(3), []
    names = ["api/org_access", *OVERVIEW.values(), "api/summary"]
    with psycopg.connect(url) as conn:
        for _ in range(requests_count):
            org = rng.choice(list(tokens))
            params = {"org": org, "course": None, "from": None, "to": None}
            start = time.perf_counter()
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(tokens[org][0])))
                for name in names:
                    conn.execute(load_sql(name), params).fetchall()
            latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def http_latencies(base: str, tokens: dict, clients: int, per_client: int) -> list[float]:
    """Each client a thread with one kept-alive connection (http.client: the load generator
    shares the machine's two cores with the server and PostgreSQL, so it should cost little)."""
    latencies: list[float] = []
    lock = threading.Lock()
    host, port = base.removeprefix("http://").split(":")

    def client(seed: int) -> None:
        rng, connection, mine = random.Random(seed), http.client.HTTPConnection(host, int(port), timeout=60), []
        for _ in range(per_client):
            org = rng.choice(list(tokens))
            start = time.perf_counter()
            connection.request(
                "GET",
                f"/api/admin/analytics?organization_id={org}",
                headers={"Authorization": f"Bearer {tokens[org][1]}"},
            )
            answer = connection.getresponse()
            answer.read()
            mine.append((time.perf_counter() - start) * 1000)
            if answer.status != 200:
                raise RuntimeError(f"the admin API answered {answer.status}")
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def measure(env, clients: int, per_client: int) -> tuple[list[Figure], dict]:
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        orgs = [r[0] for r in conn.execute("SELECT org_id FROM marts.org_insights ORDER BY org_id")]
        tokens = tenant_tokens(conn, orgs)
        events = conn.execute("SELECT count(*) FROM raw.analytics_events").fetchone()[0]
    direct = direct_latencies(env.database_url, tokens, clients * per_client // 4)
    runs = {}
    # As configured (documents reused while the marts stand still), then with every request
    # reading the marts: what the cache is worth.
    for name, cache_seconds in (("", "5"), (", no document cache", "0")):
        with serving(env.database_url, env.landing, ANALYTICS_WEB_DOCUMENT_CACHE_SECONDS=cache_seconds) as base:
            http_latencies(base, tokens, clients, 5)  # warm-up: the pool's connections, the caches
            runs[name] = http_latencies(base, tokens, clients, per_client)
    figures = [
        Figure(
            f"admin API p{q}, {clients} concurrent clients{name}",
            percentile(latencies, q),
            "ms",
            "its queries straight to PostgreSQL, one client",
            percentile(direct, q),
            False,
            f"p95 <= {TARGET_P95_MS} ms" if q == 95 and not name else "",
            percentile(latencies, q) <= TARGET_P95_MS if q == 95 and not name else None,
        )
        for name, latencies in runs.items()
        for q in (50, 95)
    ]
    latencies = runs[""]
    return figures, {"admin_api": {"history_events": events, "orgs": len(orgs), "requests": len(latencies)}}


def measure_export(url: str, landing: Path, rows: int, work: Path) -> Figure:
    """`url` holds a mart-shaped marts.org_engagement_daily of `rows` rows of org_1 (bench.export)."""
    with psycopg.connect(url, autocommit=True) as conn:
        # The API answers for orgs the insights mart knows; the access check also reads the
        # completion mart (for a course filter).
        conn.execute("CREATE TABLE marts.org_insights AS SELECT 'org_1'::text AS org_id, 'Org 1'::text AS org_name")
        conn.execute("CREATE TABLE marts.view_course_completion_rate (org_id text, course_id text)")
        for mart in ("marts.org_insights", "marts.view_course_completion_rate"):
            conn.execute("SELECT access.apply_tenant_policy(%s::regclass)", (mart,))
        role, token = tenant_tokens(conn, ["org_1"])["org_1"]
    start = time.perf_counter()
    cli_rows = export_mart(url, "org_engagement_daily", "org_1", work / "cli.csv", role=role)
    cli_seconds = time.perf_counter() - start
    with serving(url, landing, port=8766) as base:
        start = time.perf_counter()
        with (
            requests.get(
                f"{base}/api/admin/analytics/export",
                stream=True,
                timeout=120,
                params={"organization_id": "org_1", "dataset": "engagement"},
                headers={"Authorization": f"Bearer {token}"},
            ) as answer,
            (work / "api.csv").open("wb") as out,
        ):
            answer.raise_for_status()
            for chunk in answer.iter_content(1 << 16):
                out.write(chunk)
        api_seconds = time.perf_counter() - start
    with (work / "api.csv").open("rb") as handle:
        api_rows = sum(1 for _ in handle) - 1
    assert api_rows == cli_rows == rows, (api_rows, cli_rows, rows)
    return Figure(
        f"admin API export of {rows:,} rows",
        api_seconds,
        "s",
        "CLI export (COPY) as the same role",
        cli_seconds,
        False,
        f"<= {EXPORT_TARGET_SECONDS:.0f} s",
        api_seconds <= EXPORT_TARGET_SECONDS,
    )
