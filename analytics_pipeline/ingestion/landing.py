"""The landing zone layout: events/received_date=YYYY-MM-DD/<batch_id>.ndjson[.gz]."""

from __future__ import annotations

import gzip
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from analytics_pipeline.ingestion.contract import MAX_LINE_BYTES

_PARTITION_DIR = re.compile(r"^received_date=(\d{4}-\d{2}-\d{2})$")
_SUFFIXES = (".ndjson.gz", ".ndjson")


@dataclass(frozen=True)
class BatchFile:
    received_date: date
    batch_id: str
    path: Path
    landing_path: str  # relative to the landing root: what ledgers and dead letters record

    @property
    def partition_key(self) -> str:
        return self.received_date.isoformat()


def _batch_id(name: str) -> str | None:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and not name.startswith("."):
            return name.removesuffix(suffix)
    return None


def list_batch_files(root: Path, partition_key: str | None = None) -> list[BatchFile]:
    """Batch files in the landing zone, oldest partition first; temp files are ignored
    (the API writes elsewhere, then renames a finished file in)."""
    events = root / "events"
    if not events.is_dir():
        return []
    found = []
    for folder in sorted(events.iterdir()):
        match = _PARTITION_DIR.match(folder.name)
        if not match or not folder.is_dir():
            continue
        if partition_key and match.group(1) != partition_key:
            continue
        day = date.fromisoformat(match.group(1))
        for path in sorted(folder.iterdir()):
            batch_id = _batch_id(path.name)
            if batch_id and path.is_file():
                found.append(BatchFile(day, batch_id, path, path.relative_to(root).as_posix()))
    return found


# A batch file up to this size is read in one call and split; a larger one is streamed. A
# read allocates its whole size first: at 1 MiB, above malloc's mmap threshold, each file's
# read mapped and unmapped a fresh megabyte, and reading cost 3x what it does now.
WHOLE_FILE_BYTES = 64 << 10


def read_lines(batch: BatchFile, limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The raw lines of a batch file, without their line ending. A trailing newline at the end
    of the file does not make an extra empty line. A line longer than `limit` comes out as
    its first limit + 1 bytes (enough to reject it); in a large file it is never held in
    memory whole."""
    # GzipFile's own readline is Python; behind a BufferedReader it is C, like a plain file's.
    with batch.path.open("rb") as stored, (
        io.BufferedReader(gzip.GzipFile(fileobj=stored)) if batch.path.name.endswith(".gz") else stored
    ) as handle:
        # Most files are one client's batch of a few lines: one read and a split cost a
        # fraction of a readline per line.
        head = handle.read(WHOLE_FILE_BYTES)
        if len(head) < WHOLE_FILE_BYTES:
            lines = head.split(b"\n")
            if not lines[-1]:
                lines.pop()
            for line in lines:
                yield line[: limit + 1].rstrip(b"\r")
            return
        handle.seek(0)
        while line := handle.readline(limit + 1):
            if len(line) > limit and not line.endswith(b"\n"):
                rest = line
                while rest and not rest.endswith(b"\n"):
                    rest = handle.readline(1 << 20)
            yield line.rstrip(b"\r\n")


def landed_at(path: Path) -> float:
    """When a batch file appeared (epoch seconds): files are renamed in whole, so their
    modification time; object stores without one (fsspec's memory store) give a creation time."""
    stat = path.stat()
    return stat.st_mtime or getattr(stat, "st_birthtime", 0.0)


def write_batch_file(path: Path, payload: bytes, *, durable: bool = False) -> None:
    """Write elsewhere, then rename in: the landing contract says a file appears whole.
    `durable` also flushes the file and the rename to disk before returning, for a writer
    that acknowledges the events to a client (the collector)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(payload)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)
    if durable:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
