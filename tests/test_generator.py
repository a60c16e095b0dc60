from datetime import date

from analytics_pipeline.demo.generator import generate
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
