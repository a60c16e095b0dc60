"""Reading a reference snapshot's CSV: the named columns of each row, in the order asked for."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path


def snapshot_rows(path: Path, columns: Sequence[str], error: type[Exception]) -> Iterator[list[str]]:
    """Each row's `columns` (other columns are ignored; a value the row lacks reads as '').
    Raises `error` when the header lacks one of them. Columns are picked by their position in
    the header, where a DictReader would build a dict of every column for each row. A byte
    order mark, which spreadsheet programs write at the start of a UTF-8 export, is skipped."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, [])
            missing = set(columns) - set(header)
            if missing:
                raise error(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            positions = [header.index(column) for column in columns]
            width = len(header)
            for record in reader:
                if not record:
                    continue  # a blank line, as DictReader skips it
                if len(record) < width:
                    record += [""] * (width - len(record))
                yield [record[position] for position in positions]
        except UnicodeDecodeError as exc:
            raise error(f"{path}: not UTF-8 text (export it as UTF-8)") from exc
