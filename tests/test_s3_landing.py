"""The landing zone on S3, for real: moto's S3 server on loopback (a real S3 HTTP API), reached
through s3fs and UPath exactly as production reaches S3, with the bucket's credentials in the
environment. The generator writes a landing zone there, the web app lands every route's
batches there (acknowledged once the object exists), and ingestion reads them back."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import psycopg
import pytest
import requests

from analytics_pipeline.access.credentials import create_write_key
from analytics_pipeline.config import landing_root
from analytics_pipeline.ingestion.partition import ingest_partition
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from tests.conftest import TEST_PII_KEY, free_port, run_cli
from tests.landing_helpers import event, ingest_landed, utc_today, write_reference
from tests.web_helpers import bearer, web_server

TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
BUCKET = "analytics-landing"
OPEN_EDX_COURSE = "course-v1:Demo+c1+2026"


@pytest.fixture(scope="module")
def s3():
    """An S3 endpoint on loopback with one bucket, and the variables boto and s3fs read."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    variables = {
        "AWS_ACCESS_KEY_ID": "analytics-test",
        "AWS_SECRET_ACCESS_KEY": "analytics-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    boto3.client("s3", endpoint_url=variables["AWS_ENDPOINT_URL"]).create_bucket(Bucket=BUCKET)
    yield variables
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    server.stop()


def objects(prefix: str) -> dict[str, bytes]:
    """What the bucket holds under `prefix`, read with boto3 (not through the code under test)."""
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def test_generate_writes_a_landing_zone_to_s3_and_ingestion_reads_it(s3, conn, tmp_path):
    url = f"s3://{BUCKET}/generated"
    done = run_cli(
        "generate", "--landing", url, "--orgs", "2", "--learners", "20", "--days", "2", "--end-date", "2026-03-02"
    )
    assert done.returncode == 0, done.stderr
    stored = objects("generated/")
    assert {
        f"generated/reference/{n}.csv" for n in ("organizations", "courses", "lessons", "enrollments", "learners")
    } <= set(stored)
    batches = [key for key in stored if key.startswith("generated/events/received_date=2026-03-02/")]
    assert batches and not any(key.endswith(".tmp") for key in stored)  # no temporary key left behind
    root = landing_root(url)
    assert load_reference(conn, root, TOKENIZER)["enrollments"] > 0
    results = ingest_partition(conn, root, "2026-03-02", TOKENIZER)
    assert len(results) == len(batches)
    assert (
        sum(r.accepted for r in results) == conn.execute("SELECT count(*) FROM raw.analytics_events").fetchone()[0] > 0
    )


def test_every_route_lands_its_batches_on_s3_before_it_answers(s3, migrated_db, tmp_path):
    root = landing_root(f"s3://{BUCKET}/web")
    local = tmp_path / "reference"
    write_reference(tmp_path, [("org_a", "u1", "c1"), ("org_a", "u1", OPEN_EDX_COURSE)])
    for path in local.iterdir():
        (root / "reference" / path.name).write_bytes(path.read_bytes())
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, root, TOKENIZER)
        key = create_write_key(conn, "lms").key
    before = utc_today()
    native = event("u1", "c1")
    statement = {
        "actor": {"objectType": "Agent", "account": {"homePage": "https://lms.example.org", "name": "u1"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/launched"},
        "object": {
            "id": f"https://lms.example.org/course/{OPEN_EDX_COURSE}",
            "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
        },
    }
    caliper = {
        "id": "urn:uuid:8b4f3a50-2d4e-4b8a-9f5e-1c2d3e4f5a6b",
        "type": "Event",
        "action": "Started",
        "actor": {"id": "urn:instructure:canvas:user:u1", "type": "Person"},
        "object": {"id": "urn:instructure:canvas:course:c1", "type": "CourseOffering"},
        "eventTime": datetime.now(UTC).isoformat(),
    }
    with web_server(root, migrated_db, parts=("ingest",)) as base:
        answers = [
            requests.post(
                base + "/api/analytics/events/batch", json={"events": [native]}, headers=bearer(key), timeout=30
            ),
            requests.post(
                base + "/xAPI/statements",
                json=statement,
                headers={**bearer(key), "X-Experience-API-Version": "1.0.3"},
                timeout=30,
            ),
            requests.post(base + "/caliper", json=caliper, headers=bearer(key), timeout=30),
        ]
        assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
        days = {before, utc_today()}  # each file goes under the day it was received on
        landed = {key: body for day in days for key, body in objects(f"web/events/received_date={day}/").items()}
    names = sorted(key.rsplit("/", 1)[1] for key in landed)
    assert (
        len(names) == 3
        and [n for n in names if n.endswith(".xapi.ndjson")]
        and [n for n in names if n.endswith(".caliper.ndjson")]
    )
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        results = ingest_landed(conn, root, TOKENIZER)
        assert sum(r.accepted for r in results) == 3
        types = sorted(t for (t,) in conn.execute("SELECT event_type FROM raw.analytics_events"))
    assert types == sorted([native["eventType"], "course_started", "course_started"])


def test_a_long_running_reader_sees_the_files_other_processes_land_later(s3):
    """fsspec caches listings for good by default: a sensor that listed a folder once would
    never see a file landed there afterwards."""
    import boto3

    from analytics_pipeline.ingestion.landing import list_batch_files

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    day = "events/received_date=2026-01-01"
    client.put_object(Bucket=BUCKET, Key=f"later/{day}/first.ndjson", Body=b"{}\n")
    root = landing_root(f"s3://{BUCKET}/later")
    assert [b.batch_id for b in list_batch_files(root)] == ["first"]
    client.put_object(Bucket=BUCKET, Key=f"later/{day}/second.ndjson", Body=b"{}\n")
    client.put_object(Bucket=BUCKET, Key="later/events/received_date=2026-01-02/third.ndjson", Body=b"{}\n")
    assert [b.batch_id for b in list_batch_files(root)] == ["first", "second", "third"]


def test_settled_folders_are_not_listed_again_until_the_platform_lands_there(s3, conn, tmp_path):
    import time

    from analytics_pipeline.ingestion.landing import batch_file_path, partition_folders, write_batch_file
    from analytics_pipeline.ingestion.settled_folders import SETTLED_AFTER_NS, LandingScan

    root = landing_root(f"s3://{BUCKET}/settled")
    write_reference(tmp_path, [("org_a", "u1", "c1")])
    for path in (tmp_path / "reference").iterdir():
        write_batch_file(root / "reference" / path.name, path.read_bytes())
    load_reference(conn, root, TOKENIZER)
    day = "2026-01-05"
    write_batch_file(batch_file_path(root, day, "first"), json.dumps(event("u1", "c1", day=day)).encode() + b"\n")
    stamp = partition_folders(root)[day]
    assert stamp is not None  # the folder's change marker, in place of a folder time
    ingest_partition(conn, root, day, TOKENIZER)
    time.sleep(SETTLED_AFTER_NS / 1e9 + 1)
    LandingScan.of(conn, root).record(conn)  # every file handled, the marker still: settled
    again = LandingScan.of(conn, root)
    assert day in again.unchanged and again.pending == []  # not listed
    write_batch_file(batch_file_path(root, day, "second"), json.dumps(event("u1", "c1", day=day)).encode() + b"\n")
    assert partition_folders(root)[day] > stamp  # landing there moves the marker
    moved = LandingScan.of(conn, root)
    assert day not in moved.unchanged and [b.batch_id for b in moved.pending] == ["second"]
