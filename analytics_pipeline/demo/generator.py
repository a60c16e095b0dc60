"""Generate a realistic landing zone: reference CSVs and NDJSON batch files.

Learners enrolled in courses (some in two orgs) follow their journeys (demo/journeys.py).
Clients retry (the same clientEventId again, in a later batch or on a later day), a few lines
break the contract, and offline clients deliver events days late. Everything derives from the
seed: the same arguments write the same files.

Memory does not grow with the corpus: the events are drawn into a file, then late deliveries
are drawn over that file, which is rewritten as each learner's lines of each received day; the
client retries are drawn from the batches' sizes alone, and each day's batch files are written
from those blocks. The seed's draws are taken in the same order throughout, so the files are
those of a generator that held every event in memory.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from operator import itemgetter
from pathlib import Path

import msgspec
from tqdm import tqdm

from analytics_pipeline.config import landing_root
from analytics_pipeline.demo.caliper_corpus import CaliperIds, corrupt_event, to_events
from analytics_pipeline.demo.formats import FORMATS
from analytics_pipeline.demo.journeys import Journeys, timestamp, to_line, uuid4_text
from analytics_pipeline.demo.population import Population
from analytics_pipeline.demo.xapi_corpus import XapiIds, corrupt_statement, to_statements
from analytics_pipeline.ingestion.landing import CALIPER_MARK, XAPI_MARK, batch_file_path, write_batch_file

# A client batch: one learner's events of one received day, up to this many at a time.
BATCH_SIZE = 40


@dataclass
class GenerationSummary:
    batch_files: int = 0
    lines: int = 0
    events: int = 0
    retried_lines: int = 0
    invalid_lines: int = 0
    late_events: int = 0
    counts_by_day: dict[str, int] = field(default_factory=dict)


CORRUPTIONS = ("truncated", "missing_user", "unknown_type", "bad_rating", "bad_time", "no_lesson")


def _corrupt(kind: str, line: str) -> str:
    if kind == "truncated":
        return line[: len(line) // 2]
    event = json.loads(line)
    if kind == "missing_user":
        event.pop("userId")
    elif kind == "unknown_type":
        event["eventType"] = "video_rewound"
    elif kind == "bad_rating":
        event["eventType"], event["properties"] = "survey_submitted", {"rating": 9}
    elif kind == "bad_time":
        event["occurredAt"] = "yesterday"
    else:
        event["eventType"] = "lesson_started"
        event.pop("lessonId", None)
    return json.dumps(event)


def write_batch_lines(path: Path, lines: list[str], compress: bool) -> None:
    payload = ("\n".join(lines) + "\n").encode()
    write_batch_file(path, gzip.compress(payload, mtime=0) if compress else payload)


MARKS = {"native": "", "xapi": XAPI_MARK, "caliper": CALIPER_MARK}


def _format(format: str, courses: dict[str, list[dict]]) -> tuple[Callable, Callable]:
    """How a format names the courses and lessons in the snapshots, and the lines it writes
    for one native line (broken as `corruption` says, if set)."""
    if format == "xapi":
        xapi_ids = XapiIds(courses)

        def statements(line: str, corruption: str | None) -> list[str]:
            *loads, statement = to_statements(json.loads(line), xapi_ids)
            last = corrupt_statement(corruption, statement) if corruption else json.dumps(statement)
            return [json.dumps(load) for load in loads] + [last]

        return xapi_ids, statements
    if format == "caliper":
        caliper_ids = CaliperIds(courses)

        def events(line: str, corruption: str | None) -> list[str]:
            first, *grade = to_events(json.loads(line), caliper_ids)
            # A broken submission goes without its grade, as a broken native line is one line.
            return [corrupt_event(corruption, first)] if corruption else [json.dumps(e) for e in (first, *grade)]

        return caliper_ids, events
    return (lambda native_id: native_id), (
        lambda line, corruption: [_corrupt(corruption, line) if corruption else line]
    )


class _DayBlocks:
    """Each learner's lines of each received day, in batch order, kept in a file: only the
    block being written or read is in memory."""

    def __init__(self, path: Path):
        self._file = open(path, "w+b")  # noqa: SIM115 - closed by close(), as contextlib.closing calls it
        self._end = 0
        # received day -> (learner, offset, length, line count) of each block, in arrays
        self._index: dict[str, tuple[array, array, array, array]] = {}

    def add(self, day: str, learner: int, lines: list[str]) -> None:
        data = ("\n".join(lines) + "\n").encode()
        self._file.write(data)
        index = self._index.setdefault(day, (array("I"), array("q"), array("I"), array("I")))
        for column, value in zip(index, (learner, self._end, len(data), len(lines)), strict=True):
            column.append(value)
        self._end += len(data)

    def days(self) -> list[str]:
        self._file.flush()
        return sorted(self._index)

    def learners(self, day: str) -> array:
        return self._index[day][0]

    def counts(self, day: str) -> array:
        return self._index[day][3]

    def lines(self, day: str, block: int) -> list[str]:
        _, offsets, lengths, _ = self._index[day]
        return os.pread(self._file.fileno(), lengths[block], offsets[block]).decode().split("\n")[:-1]

    def close(self) -> None:
        self._file.close()


class _BatchPlan:
    """The client batches of each received day, as (block, chunk) pairs: one learner's lines
    of the day, up to BATCH_SIZE at a time, learners in the order of their user ids."""

    def __init__(self, blocks: _DayBlocks, user_order: list[int]):
        self.blocks, self.days = blocks, blocks.days()
        rank = array("I", bytes(4 * len(user_order)))
        for position, learner in enumerate(user_order):
            rank[learner] = position
        self._batches: list[tuple[array, array]] = []
        for day in self.days:
            learners, counts = blocks.learners(day), blocks.counts(day)
            in_order, chunks = array("I"), array("I")
            for block in sorted(range(len(learners)), key=lambda b: rank[learners[b]]):
                for chunk in range(-(-counts[block] // BATCH_SIZE)):
                    in_order.append(block)
                    chunks.append(chunk)
            self._batches.append((in_order, chunks))
        self._cached: tuple[tuple[int, int], list[str]] = ((-1, -1), [])

    def batch_count(self, day: int) -> int:
        return len(self._batches[day][0])

    def _at(self, day: int, batch: int) -> tuple[int, int]:
        """The (block, chunk) a batch is made of."""
        return self._batches[day][0][batch], self._batches[day][1][batch]

    def size(self, day: int, batch: int) -> int:
        block, chunk = self._at(day, batch)
        return min(BATCH_SIZE, self.blocks.counts(self.days[day])[block] - chunk * BATCH_SIZE)

    def lines(self, day: int, batch: int) -> list[str]:
        block, chunk = self._at(day, batch)
        if self._cached[0] != (day, block):  # a learner's batches follow each other
            self._cached = ((day, block), self.blocks.lines(self.days[day], block))
        return self._cached[1][chunk * BATCH_SIZE : (chunk + 1) * BATCH_SIZE]

    def line(self, day: int, batch: int, position: int) -> str:
        block, chunk = self._at(day, batch)
        return self.blocks.lines(self.days[day], block)[chunk * BATCH_SIZE + position]


def _spill_journeys(journeys: Journeys, population: Population, path: Path) -> int:
    """Every learner's events in the order they are drawn, one record per line: learner,
    receivedAt, clientEventId, occurredAt and the batch line. Returns how many."""
    count = 0
    with open(path, "w", encoding="ascii") as spill:
        for learner, enrolled in population.by_learner():
            for event in journeys.of(learner, enrolled):
                fields = (str(learner.index), event["receivedAt"], event["clientEventId"], event["occurredAt"])
                spill.write("\t".join(fields) + f"\t{to_line(event)}\n")
                count += 1
    return count


def _deliver(rng: random.Random, spill: Path, end: datetime, blocks: _DayBlocks) -> int:
    """Offline clients: some events are delivered one to five days after they happened (by
    `end`, a naive UTC time, at the latest). Each learner's lines of each received day then go
    to `blocks`, in the order they are batched (by receivedAt, then clientEventId). Returns how
    many events came late."""
    late_events = 0
    with open(spill, encoding="ascii") as records:
        rows = (record.rstrip("\n").split("\t", 4) for record in records)
        for learner, events in groupby(rows, key=itemgetter(0)):
            by_day = defaultdict(list)
            for _, received, event_id, occurred, line in events:
                if rng.random() < 0.03:
                    late = datetime.fromisoformat(occurred.removesuffix("Z")) + timedelta(days=rng.randint(1, 5))
                    if late <= end:
                        event = msgspec.json.decode(line)
                        event["receivedAt"] = received = timestamp(late)
                        line = to_line(event)
                        late_events += 1
                by_day[received[:10]].append((received, event_id, line))
            for day, lines in by_day.items():
                lines.sort(key=itemgetter(0, 1))
                blocks.add(day, int(learner), [line for *_, line in lines])
    return late_events


def _retries(rng: random.Random, plan: _BatchPlan) -> Iterator[tuple[int, dict[int, list[tuple[int, int, int]]]]]:
    """Client retries: a line sent again in a batch of the same day or the next, which may be
    retried again in turn. Yields each day's index, once no more lines can be added to it,
    with the lines added to its batches: {batch: [(day, batch, position) of the original]}."""
    pending: dict[int, dict[int, list[tuple[int, int, int]]]] = defaultdict(dict)
    last = len(plan.days) - 1
    for day in range(len(plan.days)):
        added = pending.pop(day, {})
        for batch in range(plan.batch_count(day)):
            size, copies = plan.size(day, batch), list(added.get(batch, ()))
            for position in range(size + len(copies)):
                if rng.random() < 0.03:
                    target = day if day == last or rng.random() < 0.5 else day + 1
                    into = added if target == day else pending[target]
                    original = (day, batch, position) if position < size else copies[position - size]
                    into.setdefault(rng.choice(range(plan.batch_count(target))), []).append(original)
        yield day, added


def generate(
    landing: Path,
    *,
    orgs: int = 3,
    learners: int = 200,
    days: int = 14,
    seed: int = 7,
    end_date: date | None = None,
    format: str = "native",
) -> GenerationSummary:
    """Write a landing zone under `landing`. `end_date` (default: yesterday, UTC) is the last
    received date; the data covers `days` days up to it. `format` "xapi" writes the same
    events as xAPI statements (`<batch>.xapi.ndjson`), with Open edX keys for the course and
    lesson ids in the statements and the reference snapshots alike; "caliper" as Caliper
    events (`<batch>.caliper.ndjson`), with a Canvas-like LMS's ids (demo/caliper_corpus.py).
    The work files go to the temporary folder (TMPDIR), about twice the corpus's size."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    end_date = end_date or (datetime.now(UTC).date() - timedelta(days=1))
    start = datetime.combine(end_date - timedelta(days=days - 1), time(), UTC)
    end = datetime.combine(end_date, time(23, 59, 59), UTC)
    rng = random.Random(seed)
    population = Population(rng, orgs, learners, start)
    summary = GenerationSummary()
    rename, to_lines = _format(format, population.courses)
    root = landing_root(landing)
    population.write_reference(root, rename)

    with ExitStack() as stack:
        work = stack.enter_context(tempfile.TemporaryDirectory(prefix="analytics-generate-"))
        spill = Path(work) / "journeys.tsv"
        summary.events = _spill_journeys(Journeys(rng, population, start, end), population, spill)
        blocks = stack.enter_context(closing(_DayBlocks(Path(work) / "days.ndjson")))
        summary.late_events = _deliver(rng, spill, end.replace(tzinfo=None), blocks)
        spill.unlink()
        plan = _BatchPlan(blocks, population.user_order())
        # The retries are drawn once to count them and to reach the draws that follow, then
        # again, from the same state, day by day as the files are written.
        replay = random.Random()
        replay.setstate(rng.getstate())
        summary.retried_lines = sum(len(copies) for _, added in _retries(rng, plan) for copies in added.values())
        # The bar draws only on a terminal (disable=None), never into logs or pipes.
        days_written = tqdm(
            _retries(replay, plan), total=len(plan.days), desc="writing batch files", unit="day", disable=None
        )
        for index, added in days_written:
            day = plan.days[index]
            for batch in range(plan.batch_count(index)):
                native = plan.lines(index, batch) + [plan.line(*original) for original in added.get(batch, ())]
                lines = []
                for line in native:
                    corruption = rng.choice(CORRUPTIONS) if rng.random() < 0.01 else None
                    lines += to_lines(line, corruption)
                    summary.invalid_lines += corruption is not None
                batch_id = uuid4_text(rng.getrandbits(128))
                compress = rng.random() < 0.2
                path = batch_file_path(root, day, f"{batch_id}{MARKS[format]}", compressed=compress)
                write_batch_lines(path, lines, compress)
                summary.batch_files += 1
                summary.lines += len(lines)
                summary.counts_by_day[day] = summary.counts_by_day.get(day, 0) + len(lines)
    return summary
