"""The learner directory's two feeds: the LMS's optional learners snapshot
(`reference/learners.csv`: `user_id`, `name`, `email`; other columns are ignored) and the
`user` object of ingested events. Names and e-mails are sealed (pii.Sealer) before they reach
the database, keyed by the learner's token; an erased learner is not written again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.snapshot_csv import snapshot_rows

LEARNERS = "learners"
COLUMNS = ("user_id", "name", "email")


class LearnersSnapshotError(ValueError):
    pass


def learners_snapshot(root: Path) -> Path:
    return root / "reference" / f"{LEARNERS}.csv"


def _sealed_rows(path: Path, tokenizer: Tokenizer) -> Iterator[tuple[str, bytes | None, bytes | None]]:
    sealer = tokenizer.sealer
    for user_id, name, email in snapshot_rows(path, COLUMNS, LearnersSnapshotError):
        if not user_id:
            continue
        token = tokenizer.token(user_id)
        yield token, *sealer.seal_person(token, name, email)


def load_learners_snapshot(conn: psycopg.Connection, path: Path, tokenizer: Tokenizer) -> int:
    """Seal the snapshot's names and e-mails into the directory; returns the rows read."""
    count = 0
    with conn.transaction():
        conn.execute("DROP TABLE IF EXISTS pg_temp.learners_snapshot")
        conn.execute(load_sql("directory/snapshot_table"))
        with conn.cursor().copy("COPY pg_temp.learners_snapshot FROM STDIN") as copy:
            seen = set()
            for token, name, email in _sealed_rows(path, tokenizer):
                if token not in seen:  # a learner listed twice: the first row
                    seen.add(token)
                    copy.write_row((token, name, email))
                count += 1
        conn.execute(load_sql("directory/load_snapshot"))
    return count


def record_event_users(conn: psycopg.Connection, sealed: dict[str, tuple[bytes | None, bytes | None]]) -> None:
    """Enter learners the directory does not know yet, by the `user` object of their events
    (sealed at parsing: token -> (name, e-mail))."""
    if not sealed:
        return
    learners = [(token, _hex(name), _hex(email)) for token, (name, email) in sealed.items()]
    conn.execute(load_sql("directory/record_event_users"), {"learners": orjson.dumps(learners).decode()})


def _hex(sealed: bytes | None) -> str | None:
    return None if sealed is None else sealed.hex()
