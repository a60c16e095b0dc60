"""Shared by the benchmarks: a throw-away embedded PostgreSQL, generated corpora, percentiles,
and the results table."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# The demo generator makes about 14 events per learner in a one-day window.
EVENTS_PER_LEARNER_DAY = 14
DAY = date(2026, 6, 1)


@dataclass
class Figure:
    measure: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    higher_is_better: bool
    target: str = ""
    meets_target: bool | None = None

    @property
    def ratio(self) -> float:
        """How many times better than the baseline (above 1 is better)."""
        if self.higher_is_better:
            return self.value / self.baseline_value
        return self.baseline_value / self.value


def work_dir(prefix: str) -> Path:
    """A throw-away folder for one benchmark run. When the run ends, however it ends, the
    embedded PostgreSQL started in it is stopped and the folder removed (unless
    BENCH_KEEP_WORK is set): its databases and corpora run to gigabytes."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    atexit.register(_discard, work)
    return work


def _discard(work: Path) -> None:
    from analytics_pipeline.db.embedded import stop_embedded_server

    for data_dir in work.glob("*/pgdata"):
        stop_embedded_server(data_dir)
    if not os.environ.get("BENCH_KEEP_WORK"):
        shutil.rmtree(work, ignore_errors=True)


def bench_environment(work: Path):
    """The project's own environment (embedded PostgreSQL, Dagster home, dbt manifest) in `work`."""
    os.environ["ANALYTICS_HOME"] = str(work / "home")
    os.environ.pop("DAGSTER_HOME", None)
    from analytics_pipeline.environment import bootstrap

    return bootstrap(work / "landing")


# Time a core spent not working for anyone on this machine.
NOT_BUSY = ("idle", "iowait", "steal", "guest", "guest_nice")  # guest time is counted in user too


@contextmanager
def machine_cpu() -> Iterator[dict[str, float]]:
    """Core-seconds the whole machine was busy during the block, in `["busy"]` once it ends:
    this process, its children and PostgreSQL alike. On a machine doing nothing else, no
    schedule of the block's work can take less than that over the number of cores.
    `["children"]` is the part of it spent by the child processes the block waited for
    (and theirs), `["self"]` this process's."""
    import psutil

    def busy() -> float:
        times = psutil.cpu_times()
        return sum(times) - sum(getattr(times, name, 0.0) for name in NOT_BUSY)

    spent: dict[str, float] = {}
    before, own = busy(), os.times()
    yield spent
    after, own_after = busy(), os.times()
    spent["busy"] = after - before
    spent["children"] = own_after.children_user + own_after.children_system - own.children_user - own.children_system
    spent["self"] = own_after.user + own_after.system - own.user - own.system


def pipeline_tokenizer(config=None):
    """The tokenizer a pipeline run ingests with, from the run's own PiiResource (learner
    tokens, and the learner directory's names and e-mails sealed), so that a baseline of
    ingestion does the run's work."""
    from analytics_pipeline.config import load_config
    from analytics_pipeline.defs.resources import PiiResource

    config = config or load_config()
    return PiiResource(key=config.pii_key().decode(), directory_key=config.directory_key().decode()).tokenizer()


def free_port() -> int:
    """A loopback TCP port nobody listens on now, for a server the benchmark starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_database(env, name: str) -> str:
    """A fresh, migrated database on the benchmark's server."""
    from analytics_pipeline.db.embedded import ensure_database
    from analytics_pipeline.db.migrations import migrate
    from analytics_pipeline.db.urls import with_database

    ensure_database(env.database_url, name)
    url = with_database(env.database_url, name)
    migrate(url)
    return url


def generate_day(landing: Path, events: int, day: date = DAY, seed: int = 11):
    """About `events` landing lines for one received date (with the demo's retries and bad lines)."""
    from analytics_pipeline.demo.generator import generate

    return generate(
        landing, orgs=20, learners=max(1, events // EVENTS_PER_LEARNER_DAY), days=1, seed=seed, end_date=day
    )


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def clone_history(conn, day: date, copies: int) -> date:
    """Copy `day`'s events into the `copies` days before it (sql/clone_history.sql); returns
    the first day of the history."""
    first = day - timedelta(days=copies)
    for offset in range(copies):
        conn.execute("SELECT raw.ensure_analytics_events_partition(%s)", (first + timedelta(days=offset),))
    if copies:
        conn.execute((ROOT / "bench" / "sql" / "clone_history.sql").read_text(), {"copies": copies, "day": day})
    return first


def report(figures: list[Figure], notes: dict) -> str:
    header = f"{'measure':<52}{'value':>14}  {'baseline':<44}{'baseline':>14}{'ratio':>8}  target"
    lines = [header, "-" * len(header)]
    for f in figures:
        verdict = "" if f.meets_target is None else (" (met)" if f.meets_target else " (NOT met)")
        lines.append(
            f"{f.measure:<52}{f.value:>10,.1f} {f.unit:<3}  {f.baseline:<44}{f.baseline_value:>10,.1f} {f.unit:<3}"
            f"{f.ratio:>7.2f}x  {f.target}{verdict}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(),
                "cpus": os.cpu_count(),
                "figures": [{**asdict(f), "ratio": f.ratio} for f in figures],
                "notes": notes,
            },
            indent=2,
            default=str,
        )
    )
    return "\n".join(lines)
