"""Dagster's PostgreSQL storage, keeping a connection open instead of opening one per statement.

dagster-postgres opens a new connection for every statement unless the process asks for a
pool, which only the webserver does: a run worker would record each of its hundreds of events
over connections of their own. The local instance's storage keeps one open in every process
that loads it (run workers, the daemon, the code server, `analytics-pipeline run`) and opens
more, closed again after use, only while several threads write at once.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from dagster_postgres import DagsterPostgresStorage

from analytics_pipeline.shared_files import exclusive

# More threads at once than this, beyond the kept connection, would wait for one: the daemon
# runs sensors, schedules and run dequeues in threads of their own.
OVERFLOW = 16


def keep_connections(*storages) -> None:
    """Each of Dagster's `storages` (run, event log, schedule; None is skipped) keeps a
    connection open. No statement timeout: a run's writes may wait on a lock as they need."""
    for storage in storages:
        if storage is not None:
            storage.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=OVERFLOW)


class PooledPostgresStorage(DagsterPostgresStorage):
    @classmethod
    def from_config_value(cls, inst_data, config_value) -> DagsterPostgresStorage:
        with _one_at_a_time():
            storage = super().from_config_value(inst_data, config_value)
        keep_connections(storage.run_storage, storage.event_log_storage, storage.schedule_storage)
        _remember_schema(storage)
        return storage


# What Dagster's storages ask PostgreSQL's catalog before their statements: whether a table,
# or a column of the runs or asset-keys table, exists (its migrations add them). Each asset
# event, asset read and new run asks again.
REMEMBERED_CHECKS = {
    "event_log_storage": ("has_table", "has_asset_key_col"),
    "run_storage": ("has_backfill_id_column", "has_run_stats_index_cols"),
}


def _remember_schema(storage: DagsterPostgresStorage) -> None:
    """Migrations only add Dagster's tables and columns, so one found stays found for the life
    of the process; one not found is asked about again."""
    for part, checks in REMEMBERED_CHECKS.items():
        for check in checks:
            _remember_found(getattr(storage, part), check)


def _remember_found(storage, check: str) -> None:
    ask, found = getattr(storage, check), set()

    def remembered(*args) -> bool:
        if args not in found and ask(*args):
            found.add(args)
        return args in found

    setattr(storage, check, remembered)


def _one_at_a_time():
    """Held while this process opens the storage. The first process to open a new storage
    makes Dagster's tables in it, so the processes of one home take turns (a lock file in
    it): `make demo` beside `make dev` on a new machine would each make them, and the later
    one fail on a table the other had made first."""
    home = os.environ.get("DAGSTER_HOME")
    if not (home and os.access(home, os.W_OK)):  # mounted read-only: not a new machine's
        return contextlib.nullcontext()
    return exclusive(Path(home) / ".storage.lock")
