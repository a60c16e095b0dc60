"""Resources shared by every domain, configured through the environment (EnvVar)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psycopg

from analytics_pipeline.db.urls import dbt_env, libpq_url
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.settings import landing_root


class PostgresResource(dg.ConfigurableResource):
    """The analytics database (ANALYTICS_DATABASE_URL)."""

    url: str

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        # autocommit: each unit of work opens its own explicit transaction.
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            yield conn

    def export_dbt_env(self) -> None:
        """dbt reads its connection from the environment of the subprocess dagster-dbt starts;
        deriving it here keeps one source of truth for where the data lives."""
        os.environ.update(dbt_env(self.url))


class LandingZoneResource(dg.ConfigurableResource):
    """Where the LMS API drops batch files and reference snapshots (ANALYTICS_LANDING_DIR)."""

    root: str

    @property
    def path(self) -> Path:
        return landing_root(self.root)


class PiiResource(dg.ConfigurableResource):
    """The keyed-HMAC secret that turns learner ids into tokens (ANALYTICS_PII_KEY)."""

    key: str

    def tokenizer(self) -> Tokenizer:
        return Tokenizer(self.key.encode())


def shared_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "database": PostgresResource(url=dg.EnvVar("ANALYTICS_DATABASE_URL")),
        "landing": LandingZoneResource(root=dg.EnvVar("ANALYTICS_LANDING_DIR")),
        "pii": PiiResource(key=dg.EnvVar("ANALYTICS_PII_KEY")),
    }
