"""Resources shared by every domain, configured through the environment (EnvVar) that
bootstrap writes from the project's Config; and the executor every job runs on."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psycopg

from analytics_pipeline.config import landing_root
from analytics_pipeline.db.connection import connect
from analytics_pipeline.ingestion.pii import Sealer, Tokenizer


class PostgresResource(dg.ConfigurableResource):
    """The analytics database (ANALYTICS_DATABASE_URL)."""

    url: str

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with connect(self.url) as conn:
            yield conn


class LandingZoneResource(dg.ConfigurableResource):
    """Where the LMS API drops batch files and reference snapshots (ANALYTICS_LANDING_DIR)."""

    root: str

    @property
    def path(self) -> Path:
        return landing_root(self.root)


class PiiResource(dg.ConfigurableResource):
    """The keyed-HMAC secret that turns learner ids into tokens (ANALYTICS_PII_KEY), and the
    key that seals the learner directory (ANALYTICS_DIRECTORY_KEY)."""

    key: str
    directory_key: str

    def tokenizer(self) -> Tokenizer:
        return Tokenizer(self.key.encode(), Sealer(self.directory_key.encode()))


def shared_resources() -> dict[str, dg.ConfigurableResource]:
    """The resources sensors and schedules use, also for building their contexts in tests."""
    return {
        "database": PostgresResource(url=dg.EnvVar("ANALYTICS_DATABASE_URL")),
        "landing": LandingZoneResource(root=dg.EnvVar("ANALYTICS_LANDING_DIR")),
        "pii": PiiResource(key=dg.EnvVar("ANALYTICS_PII_KEY"), directory_key=dg.EnvVar("ANALYTICS_DIRECTORY_KEY")),
    }


def all_resources() -> dict[str, dg.ConfigurableResource]:
    """Every job's resources: the shared ones, dbt's and the SLA thresholds'."""
    # Imported here: the dbt and SLA resources live with their domains.
    from analytics_pipeline.defs.checks.resources import SlaResource
    from analytics_pipeline.defs.dbt.project import dbt_resource

    return {**shared_resources(), "dbt": dbt_resource(dg.EnvVar("ANALYTICS_DATABASE_URL")), "sla": SlaResource()}


# Every step of a run in the run's own process: a process per step would import Dagster and
# the definitions again each time (seconds per step on two cores), for steps that mostly wait
# on PostgreSQL and dbt.
EXECUTOR = dg.in_process_executor
