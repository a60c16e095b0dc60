"""One database URL, spelled for each client that needs it."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from analytics_pipeline.errors import ConfigurationError


def check_postgres_url(name: str, url: str) -> None:
    """A clear error for a variable that does not hold a PostgreSQL URL, before anything uses it."""
    try:
        scheme = make_url(url).get_backend_name()
    except ArgumentError:
        scheme = None
    if scheme != "postgresql":
        raise ConfigurationError(f"{name} is not a PostgreSQL URL (postgresql://user:password@host:port/db)")


def sqlalchemy_psycopg2_url(url: str) -> str:
    """Dagster's storage needs psycopg2: under SQLAlchemy 2.1 a bare postgresql:// picks
    psycopg 3, on which dagster-postgres fails (`NOTIFY run_events, $1`)."""
    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """A URL psycopg 3 accepts, also when given in SQLAlchemy form (postgresql+driver://)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def dbt_env(url: str) -> dict[str, str]:
    """The variables dbt_project/profiles.yml reads, so dbt connects where everything else does."""
    params = conninfo_to_dict(libpq_url(url))
    return {
        "ANALYTICS_DBT_HOST": str(params.get("host") or "localhost"),
        "ANALYTICS_DBT_PORT": str(params.get("port") or "5432"),
        "ANALYTICS_DBT_USER": str(params.get("user") or "postgres"),
        "ANALYTICS_DBT_PASSWORD": str(params.get("password") or ""),
        "ANALYTICS_DBT_DBNAME": str(params.get("dbname") or "postgres"),
    }
