"""SQL lives in .sql files under analytics_pipeline/sql; this loads them by name."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def load_sql(name: str) -> str:
    """`load_sql("ingest/merge_batch")` reads analytics_pipeline/sql/ingest/merge_batch.sql."""
    return files("analytics_pipeline").joinpath("sql", f"{name}.sql").read_text()
