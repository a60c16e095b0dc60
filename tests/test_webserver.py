"""The Dagster webserver serves this code location: its GraphQL API lists every asset and
every check of the project (what a person sees in the UI)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from dagster_graphql import DagsterGraphQLClient

from tests.conftest import free_port, pipeline_environment

ROOT = Path(__file__).resolve().parents[1]
QUERY = """
{ assetNodes { assetKey { path } assetChecksOrError { __typename ... on AssetChecks { checks { name } } } } }
"""


@pytest.fixture
def webserver(new_database, tmp_path):
    from analytics_pipeline.environment import bootstrap

    port, log = free_port(), tmp_path / "webserver.log"
    with pipeline_environment(new_database(), new_database(), tmp_path):
        bootstrap(tmp_path / "landing")
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dagster-webserver")),
                "-w",
                str(ROOT / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=ROOT,
            env=dict(os.environ),
            # A file, not a pipe: a pipe nobody reads fills up and stalls the server's shutdown.
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            pytest.fail("webserver did not start: " + log.read_text()[-2000:])
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_graphql_lists_every_asset_and_check(webserver):
    from analytics_pipeline.definitions import defs

    client = DagsterGraphQLClient("127.0.0.1", port_number=webserver)
    deadline = time.monotonic() + 60
    while True:  # the code location loads in the background after the server answers
        nodes = client._execute(QUERY)["assetNodes"]
        if nodes or time.monotonic() > deadline:
            break
        time.sleep(1)
    assets = {"/".join(n["assetKey"]["path"]) for n in nodes}
    checks = {
        ("/".join(n["assetKey"]["path"]), c["name"])
        for n in nodes
        if n["assetChecksOrError"]["__typename"] == "AssetChecks"
        for c in n["assetChecksOrError"]["checks"]
    }
    graph = defs.resolve_asset_graph()
    assert assets == {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert checks == {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("raw_analytics_events", "ingest_lag_check") in checks
