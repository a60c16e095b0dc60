import gzip
import hashlib
import json
import random
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from analytics_pipeline.demo.generator import generate
from analytics_pipeline.demo.population import Population
from tests.expected_metrics import read_landing


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    args = dict(orgs=2, learners=30, days=3, end_date=date(2026, 2, 3))
    generate(tmp_path / "a", seed=5, **args)
    generate(tmp_path / "b", seed=5, **args)
    generate(tmp_path / "c", seed=6, **args)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")


def test_corpus_has_the_shapes_the_pipeline_must_handle(tmp_path):
    summary = generate(tmp_path, orgs=3, learners=100, days=6, seed=3, end_date=date(2026, 2, 6))
    unique, invalid, duplicates = read_landing(tmp_path)
    assert invalid == summary.invalid_lines > 0
    assert duplicates > 0 and summary.late_events > 0
    assert set(unique.event_type) >= {"course_completed", "quiz_submitted", "survey_submitted", "video_paused"}
    assert any(p.name.endswith(".gz") for p in (tmp_path / "events").rglob("*"))
    days = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert days[0] == "received_date=2026-02-01" and days[-1] == "received_date=2026-02-06"


def test_simulator_writes_valid_attributable_batches(tmp_path):
    from analytics_pipeline.demo.simulator import simulate
    from analytics_pipeline.ingestion.contract import Rejection, check_line

    generate(tmp_path, orgs=2, learners=10, days=1, seed=1, end_date=date(2026, 2, 1))
    before = set((tmp_path / "events").rglob("*.ndjson*"))
    written = simulate(tmp_path, rate=20, duration_seconds=0.35, batch_seconds=0.1, seed=2)
    new_files = set((tmp_path / "events").rglob("*.ndjson*")) - before
    lines = [line for p in new_files for line in p.read_bytes().splitlines()]
    assert len(new_files) >= 3 and len(lines) == written
    assert not any(isinstance(check_line(line), Rejection) for line in lines)


DIGESTS = json.loads((Path(__file__).parent / "fixtures" / "generator" / "digests.json").read_text())["corpora"]


def _digest(root: Path) -> str:
    """Each file's path and content, decompressed, as the fixture's digests were taken."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        content = path.read_bytes()
        if path.name.endswith(".gz"):
            content = gzip.decompress(content)
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


@pytest.mark.parametrize("corpus", DIGESTS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c["args"].items()))
def test_writes_the_files_the_in_memory_generator_wrote(tmp_path, corpus):
    args = dict(corpus["args"], end_date=date.fromisoformat(corpus["args"]["end_date"]))
    summary = generate(tmp_path, **args)
    assert asdict(summary) == corpus["summary"]
    assert _digest(tmp_path) == corpus["digest"]


def test_the_user_order_is_the_order_text_sorts_ids_in():
    # Past 99,999 learners ids get a sixth digit, and text order is no longer index order.
    population = Population(random.Random(1), orgs=2, learners=100_002, start=datetime(2026, 1, 1, tzinfo=UTC))
    order = population.user_order()
    ids = [population.learner(index).user_id for index in order]
    assert ids == sorted(ids) and order[:2] == [0, 1] and order.index(99_999) == 10_000
