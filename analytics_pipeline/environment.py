"""Bring a process to a runnable state: database, schema, key, Dagster home, dbt manifest.

Every entry point (the CLI, `dagster dev` through the CLI, tests) calls `bootstrap` once;
after it the Dagster resources find everything through their EnvVars.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from analytics_pipeline.db.embedded import resolve_urls
from analytics_pipeline.db.migrations import migrate
from analytics_pipeline.db.urls import dbt_env, sqlalchemy_psycopg2_url
from analytics_pipeline.settings import landing_dir, landing_root, pii_key, state_dir

DAGSTER_YAML = """\
# Written by analytics-pipeline: Dagster's runs, events and schedules in PostgreSQL.
storage:
  postgres:
    postgres_url:
      env: ANALYTICS_DAGSTER_STORAGE_URL
# Freshness is measured in seconds here: dequeue runs every second and evaluate sensors
# side by side rather than one after another.
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
    dequeue_use_threads: true
    # Two cores: more runs at once only make each of them slower.
    max_concurrent_runs: 4
sensors:
  use_threads: true
  num_workers: 4
schedules:
  use_threads: true
  num_workers: 2
telemetry:
  enabled: false
"""


@dataclass(frozen=True)
class Environment:
    database_url: str
    dagster_storage_url: str
    landing: Path
    dagster_home: Path


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME if the operator set one, else a local one using PostgreSQL storage."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    home = state_dir() / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text() != DAGSTER_YAML:
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def ensure_dbt_manifest() -> None:
    """dagster-dbt reads the manifest at import time: build it when missing or stale."""
    from analytics_pipeline.defs.dbt.project import (
        DBT_PROJECT_DIR,
        dbt_project,
        dbt_resource,
    )

    manifest = dbt_project.manifest_path
    sources = [p for folder in ("models", "macros") for p in (DBT_PROJECT_DIR / folder).rglob("*")]
    sources.append(DBT_PROJECT_DIR / "dbt_project.yml")
    if manifest.exists() and manifest.stat().st_mtime >= max(p.stat().st_mtime for p in sources):
        return
    dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()


def bootstrap(landing: Path | None = None) -> Environment:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    key = pii_key()  # first: production without a key must stop before writing anything
    database_url, storage_url = resolve_urls()
    migrate(database_url)
    landing = landing_root(landing) if landing else landing_dir()
    os.environ["ANALYTICS_DATABASE_URL"] = database_url
    os.environ["ANALYTICS_DAGSTER_STORAGE_URL"] = sqlalchemy_psycopg2_url(storage_url)
    os.environ["ANALYTICS_LANDING_DIR"] = str(landing)
    os.environ["ANALYTICS_PII_KEY"] = key.decode()
    os.environ.update(dbt_env(database_url))
    home = ensure_dagster_home()
    ensure_dbt_manifest()
    return Environment(database_url, storage_url, landing, home)
