"""The metric definitions as dbt unit tests (dbt_project/models/_unit_tests.yml): each model
on hand-written rows, run by dbt itself against a database whose models are built (dbt reads
the inputs' column types there). A failing expectation fails the command."""

from __future__ import annotations

import json

import yaml

from analytics_pipeline.defs.dbt.project import dbt_resource
from analytics_pipeline.project_layout import DBT_PROJECT_DIR


def test_every_metric_unit_test_passes(platform, tmp_path):
    invocation = dbt_resource(platform["url"]).cli(
        ["test", "--select", "test_type:unit"], target_path=tmp_path / "target", raise_on_error=False
    )
    invocation.wait()
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"].rsplit(".", 1)[-1]: (r["status"], r.get("message")) for r in results}
    written = yaml.safe_load((DBT_PROJECT_DIR / "models" / "_unit_tests.yml").read_text())["unit_tests"]
    assert statuses.keys() == {test["name"] for test in written}
    assert {status for status, _ in statuses.values()} == {"pass"}, statuses
