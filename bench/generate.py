"""The demo generator at scale: `analytics-pipeline generate` as a user types it (a process of
its own), its lines per second and its peak memory, beside the least the same files cost to
write here: writing them again, one after another, the way the generator writes them."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from analytics_pipeline.ingestion.landing import write_batch_file
from bench.common import Figure

CLI = str(Path(sys.executable).with_name("analytics-pipeline"))
LINES_GOAL, MEMORY_GOAL_MIB = 100_000, 500


def _high_water_kib(status: Path) -> int:
    """VmHWM in /proc/<pid>/status: the most memory the process has held (0 once it ended)."""
    try:
        text = status.read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("VmHWM:")), 0)


def _generate(landing: Path, orgs: int, learners: int, days: int, seed: int) -> tuple[float, float, int]:
    """Seconds, peak resident memory (MiB) and lines written of the generate command."""
    command = [CLI, "generate", "--landing", str(landing), "--orgs", str(orgs), "--learners", str(learners)]
    command += ["--days", str(days), "--seed", str(seed), "--end-date", "2026-06-01"]
    start = time.perf_counter()
    peak_kib = 0
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        # The kernel's high-water mark of the command's own memory: the rusage of a child
        # counts its parent's memory at the fork too.
        status = Path(f"/proc/{process.pid}/status")
        while process.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(status))
            time.sleep(0.05)
        printed = process.stdout.read()
    seconds = time.perf_counter() - start
    if process.returncode:
        raise RuntimeError(f"generate failed: {printed}")
    return seconds, peak_kib / 1024, int(re.search(r"\((\d+) lines", printed).group(1))


def _write_again(landing: Path, to: Path) -> float:
    """Seconds to write every batch file of `landing` again under `to`, its content read
    beforehand (a thousand files at a time, not timed)."""
    seconds = 0.0
    paths = sorted((landing / "events").rglob("*.ndjson*"))
    for first in range(0, len(paths), 1000):
        files = [(to / path.relative_to(landing), path.read_bytes()) for path in paths[first : first + 1000]]
        start = time.perf_counter()
        for path, content in files:
            write_batch_file(path, content)
        seconds += time.perf_counter() - start
    return seconds


def measure(work: Path, orgs: int, learners: int, days: int, seed: int = 3) -> tuple[list[Figure], dict]:
    landing = work / "generated"
    seconds, peak_mib, lines = _generate(landing, orgs, learners, days, seed)
    corpus_mib = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 2**20
    rewrite = _write_again(landing, work / "written-again")
    figures = [
        Figure(
            f"generate: {lines:,} lines ({learners:,} learners, {days} days)",
            lines / seconds,
            "l/s",
            "writing the same files again",
            lines / rewrite,
            higher_is_better=True,
            target=f"{LINES_GOAL:,} lines/s",
            meets_target=lines / seconds >= LINES_GOAL,
        ),
        Figure(
            "generate: peak memory",
            peak_mib,
            "MiB",
            "the files written (on disk, some gzipped)",
            corpus_mib,
            higher_is_better=False,
            target=f"≤ {MEMORY_GOAL_MIB} MiB",
            meets_target=peak_mib <= MEMORY_GOAL_MIB,
        ),
    ]
    return figures, {"generate": {"seconds": seconds, "lines": lines, "write_again_seconds": rewrite}}
