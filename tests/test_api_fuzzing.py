"""Schemathesis against the app's own OpenAPI documents (the admin API's and the ingestion
routes'), on a real server on loopback after a real pipeline run: whatever a client sends, no
answer is a server error, and every answer is one the document declares, in its declared
shape. A fixed number of examples from a fixed seed keeps the run short and repeatable."""

from __future__ import annotations

import base64
from importlib.resources import files

import psycopg
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from analytics_pipeline.access.credentials import create_token, create_write_key
from tests.web_helpers import web_server

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(
    max_examples=25,
    derandomize=True,  # the same examples every run
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def spec(name: str) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_dict(yaml.safe_load((files("analytics_pipeline") / "web" / name).read_text()))


ADMIN, INGEST = spec("openapi.yaml"), spec("openapi_ingest.yaml")


@pytest.fixture(scope="module")
def fuzzed(platform, tmp_path_factory):
    """The app with a tenant's token (never a platform admin's: the erasure route is fuzzed
    too) and a write key bound to org_1, landing in a folder of its own."""
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        token = create_token(conn, platform["roles"]["tenant_a"]).token
        key = create_write_key(conn, "fuzzing", "org_1").key
    landing = tmp_path_factory.mktemp("fuzz_landing")
    with web_server(landing, platform["url"], write_key_rate=10_000) as base:
        yield {"base": base, "token": token, "key": key}


@ADMIN.parametrize()
@FUZZ
def test_the_admin_api_answers_every_request_as_documented(case, fuzzed):
    case.call_and_validate(
        base_url=fuzzed["base"], headers={"Authorization": f"Bearer {fuzzed['token']}"}, checks=CHECKS
    )


@INGEST.parametrize()
@FUZZ
def test_the_ingestion_routes_answer_every_request_as_documented(case, fuzzed):
    if case.path.startswith("/xAPI/"):
        basic = base64.b64encode(f"{fuzzed['key']}:".encode()).decode()
        headers = {"Authorization": f"Basic {basic}"}
    else:
        headers = {"Authorization": f"Bearer {fuzzed['key']}"}
    case.call_and_validate(base_url=fuzzed["base"], headers=headers, checks=CHECKS)
