"""A landing zone on an object store, through fsspec/UPath: fsspec's in-memory filesystem is
a real filesystem implementation (the one s3fs and gcsfs share an interface with)."""

from __future__ import annotations

import gzip
import shutil
import uuid

from upath import UPath

from analytics_pipeline.config import landing_root
from analytics_pipeline.ingestion.partition import ingest_partition, pending_batches
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.monitoring.figures import ingest_lag
from tests.conftest import TEST_PII_KEY
from tests.landing_helpers import event, write_batch, write_reference

TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
DAY = "2026-02-01"


def upload(local, remote: UPath) -> None:
    for path in local.rglob("*"):
        if path.is_file():
            target = remote / path.relative_to(local).as_posix()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())


def test_ingests_reference_and_batches_from_an_object_store_url(tmp_path, conn):
    local = tmp_path / "local"
    write_reference(local, [("org_a", "u1", "c1"), ("org_a", "u2", "c1")])
    first = event("u1", "c1")
    write_batch(local, DAY, [first, event("u2", "c1", "lesson_completed"), b"{broken"], name="a")
    write_batch(local, DAY, [first, event("u2", "c1", lesson=2)], name="b", gz=True)
    root = landing_root(f"memory://landing-{uuid.uuid4().hex}")
    assert isinstance(root, UPath) and root.protocol == "memory"
    upload(local, root)
    shutil.rmtree(local)  # nothing is read from the local disk

    assert load_reference(conn, root, TOKENIZER) == {"organizations": 1, "courses": 1, "lessons": 3, "enrollments": 2}
    assert [b.batch_id for b in pending_batches(conn, root, [DAY])] == ["a", "b"]
    lag = ingest_lag(conn, root)  # from the store's creation time: the memory store has no mtime
    assert lag.pending_files == 2 and 0 <= lag.lag_seconds < 60
    results = {r.batch_id: r for r in ingest_partition(conn, root, DAY, TOKENIZER)}
    assert (results["a"].accepted, results["a"].dead_lettered) == (2, 1)
    assert (results["b"].accepted, results["b"].duplicates) == (1, 1)  # read through gzip
    assert conn.execute("SELECT count(*) FROM raw.analytics_events").fetchone()[0] == 3
    landing_path = conn.execute("SELECT landing_path FROM raw.analytics_dead_letters").fetchone()[0]
    assert landing_path == f"events/received_date={DAY}/a.ndjson"
    assert pending_batches(conn, root, [DAY]) == []
    assert gzip.decompress((root / f"events/received_date={DAY}/b.ndjson.gz").read_bytes()).count(b"\n") == 2
