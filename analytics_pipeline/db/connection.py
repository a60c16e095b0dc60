"""The one way the project opens a connection to the analytics database."""

from __future__ import annotations

import psycopg

from analytics_pipeline.db.urls import libpq_url


def connect(url: str, *, autocommit: bool = True, **kwargs) -> psycopg.Connection:
    """autocommit by default: each unit of work opens its own explicit transaction."""
    return psycopg.connect(libpq_url(url), autocommit=autocommit, **kwargs)
