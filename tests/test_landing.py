"""The landing zone's files and lines, read the way ingestion reads them (no database)."""

from __future__ import annotations

import gzip
import os
from datetime import date
from pathlib import Path

import pytest

from analytics_pipeline.ingestion.landing import WHOLE_FILE_BYTES, list_batch_files, read_lines


def batch_at(root: Path, relative: str, payload: bytes):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if relative.endswith(".gz") else payload)
    [batch] = [b for b in list_batch_files(root) if b.landing_path == relative]
    return batch


@pytest.mark.parametrize("padding", [0, WHOLE_FILE_BYTES], ids=["one-read", "streamed"])
@pytest.mark.parametrize("suffix", [".ndjson", ".ndjson.gz"])
def test_lines_come_out_the_same_whatever_the_file_size_and_compression(tmp_path, padding, suffix):
    limit = 100
    lines = [b'{"a": 1}', b"", b'{"b": "crlf"}', b"x" * 500, b"   ", b"p" * padding, b'{"last": true}']
    payload = b"\n".join(lines[:2]) + b"\n" + lines[2] + b"\r\n" + b"\n".join(lines[3:]) + b"\n"
    batch = batch_at(tmp_path, f"events/received_date=2026-02-01/b1{suffix}", payload)

    read = list(read_lines(batch, limit=limit))

    # Each line with its ending (LF or CRLF), no extra line for the final newline, and a long
    # line cut to limit + 1 bytes: enough to reject it, never the whole of it.
    assert read == [line[: limit + 1] for line in payload.splitlines(keepends=True)]
    assert [line.rstrip(b"\r\n") for line in read] == [line[: limit + 1] for line in lines]


def test_the_listing_takes_finished_batch_files_of_partition_folders_only(tmp_path):
    day = "events/received_date=2026-02-01"
    for relative in (
        f"{day}/b2.ndjson",
        f"{day}/b1.ndjson.gz",
        f"{day}/.b3.ndjson.tmp",
        f"{day}/notes.txt",
        f"{day}/nested/b4.ndjson",
        "events/received_date=2026-02-02/b5.ndjson",
        "events/elsewhere/b6.ndjson",
        "events/b7.ndjson",
        "events/received_date=2026-13-45/b8.ndjson",  # no such day: not a partition folder
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"{}\n")
    (tmp_path / "events/received_date=2026-02-03").write_bytes(b"a file, not a partition folder")
    # A name of bytes that are not UTF-8, which a file system allows and no ledger can record.
    Path(os.fsdecode(os.fsencode(tmp_path / day) + b"/\xff\xfe.ndjson")).write_bytes(b"{}\n")

    listed = list_batch_files(tmp_path)

    assert [(b.received_date, b.batch_id, b.landing_path) for b in listed] == [
        (date(2026, 2, 1), "b1", f"{day}/b1.ndjson.gz"),
        (date(2026, 2, 1), "b2", f"{day}/b2.ndjson"),
        (date(2026, 2, 2), "b5", "events/received_date=2026-02-02/b5.ndjson"),
    ]
    assert all(b.path == tmp_path / b.landing_path for b in listed)
    assert [b.batch_id for b in list_batch_files(tmp_path, ["2026-02-02"])] == ["b5"]


def test_a_gzip_of_several_members_reads_whole_and_a_truncated_one_fails(tmp_path):
    first, second = b'{"a": 1}\n{"a": 2}\n', b'{"a": 3}\n'
    whole = batch_at(tmp_path, "events/received_date=2026-02-01/two.ndjson.gz", b"")
    whole.path.write_bytes(gzip.compress(first) + gzip.compress(second))
    truncated = batch_at(tmp_path, "events/received_date=2026-02-01/cut.ndjson.gz", first)
    truncated.path.write_bytes(truncated.path.read_bytes()[:-6])

    assert list(read_lines(whole)) == [b'{"a": 1}\n', b'{"a": 2}\n', b'{"a": 3}\n']
    with pytest.raises(EOFError):
        list(read_lines(truncated))
