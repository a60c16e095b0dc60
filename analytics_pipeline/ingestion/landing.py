"""The landing zone layout: events/received_date=YYYY-MM-DD/<batch_id>.ndjson[.gz], where a
batch id ending in `.xapi` marks a file of xAPI statements, and one ending in `.caliper` a file
of Caliper events, rather than native events."""

from __future__ import annotations

import gzip
import io
import os
import re
import uuid
import zlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from analytics_pipeline.ingestion.contract import MAX_LINE_BYTES

_PARTITION_DIR = re.compile(r"^received_date=(\d{4}-\d{2}-\d{2})$")
_SUFFIXES = (".ndjson.gz", ".ndjson")
XAPI_MARK = ".xapi"
CALIPER_MARK = ".caliper"


def events_folder(root: Path) -> Path:
    return root / "events"


def partition_folder(root: Path, day: date | str) -> Path:
    """The folder of one received date's batch files: the one place the layout is spelled."""
    key = day if isinstance(day, str) else day.isoformat()
    return events_folder(root) / f"received_date={key}"


def batch_file_path(root: Path, day: date | str, batch_id: str, *, compressed: bool = False) -> Path:
    """Where a batch file of `day` lands (`batch_id` ends in `.xapi` or `.caliper` for those)."""
    return partition_folder(root, day) / f"{batch_id}.ndjson{'.gz' if compressed else ''}"


@dataclass(frozen=True)
class BatchFile:
    received_date: date
    batch_id: str
    path: Path
    landing_path: str  # relative to the landing root: what ledgers and dead letters record

    @property
    def partition_key(self) -> str:
        return self.received_date.isoformat()

    @property
    def xapi(self) -> bool:
        """Whether the lines are xAPI statements (`<id>.xapi.ndjson[.gz]`)."""
        return self.batch_id.endswith(XAPI_MARK)

    @property
    def caliper(self) -> bool:
        """Whether the lines are Caliper events (`<id>.caliper.ndjson[.gz]`)."""
        return self.batch_id.endswith(CALIPER_MARK)


def _batch_id(name: str) -> str | None:
    try:
        name.encode()
    except UnicodeEncodeError:  # bytes that are not UTF-8 text: no ledger could record the name
        return None
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and not name.startswith("."):
            return name.removesuffix(suffix)
    return None


def _entries(folder: Path, *, folders: bool = False) -> list[tuple[str, Path]]:
    """(name, path) of a folder's files, or of its subfolders, by name. A local folder is
    listed by one scandir, whose entries know their type, so no file needs a stat of its own.
    An object store's folder (a UPath) lists through fsspec."""
    if isinstance(folder, Path):
        with os.scandir(folder) as entries:
            return sorted((e.name, folder / e.name) for e in entries if (e.is_dir() if folders else e.is_file()))
    return sorted((p.name, p) for p in folder.iterdir() if (p.is_dir() if folders else p.is_file()))


def change_marker(folder) -> object:
    """An object store's stand-in for a folder's modification time: an object beside the
    received-date folder (`events/.received_date=D.changed`, never a batch), written again
    after every batch the platform lands there, so its time moves as a folder's would."""
    return folder.parent / f".{folder.name}.changed"


def _object_time_ns(info: dict) -> int | None:
    # s3fs names it LastModified, gcsfs `updated`, adlfs `last_modified`.
    when = info.get("LastModified") or info.get("updated") or info.get("last_modified")
    if isinstance(when, str):
        when = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return int(when.timestamp() * 1_000_000_000) if isinstance(when, datetime) else None


def partition_folders(root: Path) -> dict[str, int | None]:
    """{partition key: change stamp} of the landing zone's received-date folders. The stamp is
    the folder's modification time in nanoseconds, which moves whenever a file is added,
    renamed in or removed; on an object store, which has no folder times, the time of the
    folder's change marker (one listing of `events/` gives them all), None without one."""
    events = events_folder(root)
    if not events.is_dir():
        return {}
    if not isinstance(events, Path):
        listed = events.fs.ls(events.path, detail=True)
        names = {info["name"].rstrip("/").rsplit("/", 1)[-1]: info for info in listed}
        return {
            key: _object_time_ns(names.get(f".{name}.changed", {}))
            for name, info in names.items()
            if info.get("type") == "directory" and (key := _partition_key(name))
        }
    with os.scandir(events) as entries:
        return {
            key: entry.stat().st_mtime_ns for entry in entries if entry.is_dir() and (key := _partition_key(entry.name))
        }


def _partition_key(folder_name: str) -> str | None:
    """The received date a folder is named for, if it is one that exists: a folder named for
    2026-13-45 is not read, as a folder of any other name is not."""
    match = _PARTITION_DIR.match(folder_name)
    try:
        return match and date.fromisoformat(match.group(1)).isoformat()
    except ValueError:
        return None


def list_batch_files(root: Path, partitions: Collection[str] | None = None) -> list[BatchFile]:
    """Batch files in the landing zone (in the folders of `partitions`, or in all), oldest
    partition first; temp files are ignored (the API writes elsewhere, then renames a
    finished file in)."""
    events = events_folder(root)
    if not events.is_dir():
        return []
    # Named partitions are opened directly: the events folder is listed only to find them all.
    keys = partition_folders(root) if partitions is None else set(partitions)
    found = []
    for key in sorted(keys):
        folder = partition_folder(root, key)
        if partitions is not None and not folder.is_dir():
            continue
        day = date.fromisoformat(key)
        for name, path in _entries(folder):
            if batch_id := _batch_id(name):
                found.append(BatchFile(day, batch_id, path, f"events/{folder.name}/{name}"))
    return found


# A batch file up to this size is read in one call and split; a larger one is streamed. The
# limit stays under malloc's mmap threshold, so a read does not map and unmap fresh memory.
WHOLE_FILE_BYTES = 64 << 10


def read_lines(batch: BatchFile, limit: int = MAX_LINE_BYTES) -> Iterable[bytes]:
    """The raw lines of a batch file, each with its line ending (LF or CRLF, none on a last
    line without one): JSON takes it for whitespace, and cutting it off would cost more than
    finding it. A line longer than `limit` comes out as its first limit + 1 bytes (enough to
    reject it); in a large file it is never held in memory whole."""
    compressed = batch.landing_path.endswith(".gz")
    if isinstance(batch.path, Path) and (whole := _small_local_file(batch.path, compressed)) is not None:
        return _split(whole, limit)
    return _streamed_lines(batch.path, compressed, limit)


def _small_local_file(path: Path, compressed: bool) -> bytes | None:
    """The content of a local file under WHOLE_FILE_BYTES (once inflated), else None.

    Most files are one client's batch of a few lines: one read (three system calls, where a
    buffered file object makes seven) and a split cost a fraction of a readline per line, and
    a one-shot inflate a fraction of GzipFile's reader. A regular file's read is short only at
    its end. Anything unusual (larger, several gzip members, truncated, corrupt) is left to
    the streaming reader, which tells what is wrong with it."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        data = os.read(descriptor, WHOLE_FILE_BYTES)
    finally:
        os.close(descriptor)
    if len(data) == WHOLE_FILE_BYTES:
        return None
    if compressed:
        inflate = zlib.decompressobj(wbits=31)  # gzip framing: the CRC and length are checked
        try:
            data = inflate.decompress(data, WHOLE_FILE_BYTES)
        except zlib.error:
            return None
        if not inflate.eof or inflate.unused_data or len(data) == WHOLE_FILE_BYTES:
            return None
    return data


def _split(data: bytes, limit: int) -> list[bytes]:
    # BytesIO finds each line's end with memchr, where bytes.split tests every byte.
    lines = io.BytesIO(data).readlines()
    if len(data) > limit:
        return [line[: limit + 1] for line in lines]
    return lines


def _streamed_lines(path: Path, compressed: bool, limit: int) -> Iterator[bytes]:
    # GzipFile's own readline is Python; behind a BufferedReader it is C, like a plain file's.
    with (
        path.open("rb") as stored,
        io.BufferedReader(gzip.GzipFile(fileobj=stored)) if compressed else stored as handle,
    ):
        head = handle.read(WHOLE_FILE_BYTES)
        if len(head) < WHOLE_FILE_BYTES:
            yield from _split(head, limit)
            return
        handle.seek(0)
        while line := handle.readline(limit + 1):
            if len(line) > limit and not line.endswith(b"\n"):
                rest = line
                while rest and not rest.endswith(b"\n"):
                    rest = handle.readline(1 << 20)
            yield line


def landed_at(path: Path) -> float:
    """When a batch file appeared (epoch seconds): files are renamed in whole, so their
    modification time; object stores without one (fsspec's memory store) give a creation time."""
    stat = path.stat()
    return stat.st_mtime or getattr(stat, "st_birthtime", 0.0)


def write_batch_file(path: Path, payload: bytes, *, durable: bool = False) -> None:
    """Write elsewhere, then rename in: the landing contract says a file appears whole.
    `durable` also flushes the file and the rename to disk before returning, for a writer
    that acknowledges the events to a client (the collector). On an object store (a UPath)
    the payload goes to a temporary key, is copied to its own by the store (an object appears
    whole, or not at all), and is checked to be there before this returns."""
    if not isinstance(path, Path):
        _write_object(path, payload)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp"
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:
        # A full disk leaves no partial file behind to keep it full.
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _write_object(path, payload: bytes) -> None:
    # A store's PUT is atomic and, on S3, read-after-write consistent: once the copy returns
    # and the object is listed, every reader sees it whole; the temporary key is never listed
    # as a batch (its name starts with a dot).
    tmp = path.parent / f".{path.name}.tmp"
    try:
        tmp.write_bytes(payload)
        tmp.rename(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    if not path.exists():
        raise OSError(f"{path} is not in the store after its write")
    if _partition_key(path.parent.name):
        change_marker(path.parent).write_bytes(uuid.uuid4().bytes)
