"""Bring a process to a runnable state: database, schema, key, Dagster home, dbt manifest.

Every entry point (the CLI, `dagster dev` and the code server through the CLI, tests) calls
`bootstrap` once; after it the Dagster resources find everything through their EnvVars.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from analytics_pipeline.config import Config, ConfigurationError, landing_root, load_config
from analytics_pipeline.db.embedded import resolve_urls
from analytics_pipeline.db.migrations import migrate
from analytics_pipeline.shared_files import exclusive, replace_whole

DAGSTER_YAML = """\
# Written by analytics-pipeline: Dagster's runs, events and schedules in PostgreSQL, each
# process keeping a connection open (analytics_pipeline/db/dagster_storage.py).
storage:
  custom:
    module: analytics_pipeline.db.dagster_storage
    class: PooledPostgresStorage
    config:
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
concurrency:
  runs:
    # Two cores: more runs at once only make each of them slower.
    max_concurrent_runs: 4
  # One dbt build of the same models at a time (a pool per kind, defs/dbt/assets.py): they
  # would collide on dbt's temporary relations. A run waits for its pool in the queue, not
  # while holding a run slot: ingest runs of different days held at the dbt step would ingest
  # side by side, and which copy of a client retry is kept would vary from one day to the next.
  pools:
    default_limit: 1
    granularity: run
# The local launcher cannot tell that a run worker died: such a run fails once it exceeds the
# start timeout or the maximum run time, and frees its run slot and its pool slot, instead of
# holding them forever. Runs are checked often enough that one is failed within a fifth of its
# timeout past it.
run_monitoring:
  enabled: true
  start_timeout_seconds: {start_timeout_seconds}
  max_runtime_seconds: {max_runtime_seconds}
  poll_interval_seconds: {poll_interval_seconds}
  free_slots_after_run_end_seconds: {poll_interval_seconds}
# A run that failed on a passing fault (the database restarting) is run again.
run_retries:
  enabled: true
  max_retries: 2
sensors:
  use_threads: true
  num_workers: 4
schedules:
  use_threads: true
  num_workers: 2
telemetry:
  enabled: false
"""


def ensure_dagster_home(config: Config) -> Path:
    """DAGSTER_HOME if the operator set one, else a local one using PostgreSQL storage."""
    if config.dagster_home:
        if not config.dagster_home.is_dir():
            raise ConfigurationError(f"DAGSTER_HOME {config.dagster_home} is not a folder: make it, or unset it")
        return config.dagster_home
    home = config.state_dir() / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    timeouts = (config.run_start_timeout_seconds, config.run_max_runtime_seconds)
    text = DAGSTER_YAML.format(
        start_timeout_seconds=timeouts[0],
        max_runtime_seconds=timeouts[1],
        poll_interval_seconds=max(1, min(10, min(timeouts) // 5)),
    )
    if not path.exists() or path.read_text() != text:
        replace_whole(path, text.encode())  # a command starting at the same moment reads it
    return home


def ensure_dbt_manifest(database_url: str | None = None) -> None:
    """dagster-dbt reads the manifest at import time: build it when missing or stale. Parsed
    for the database dbt will build in, when known: dbt keys its parse state on the
    connection, and the dbt commands of runs start from this one's."""
    from analytics_pipeline.defs.dbt.project import PARSE_LOCK, dbt_project, dbt_resource
    from analytics_pipeline.project_layout import DBT_PROJECT_DIR

    def fresh() -> bool:
        manifest = dbt_project.manifest_path
        sources = [p for folder in ("models", "macros") for p in (DBT_PROJECT_DIR / folder).rglob("*")]
        sources.append(DBT_PROJECT_DIR / "dbt_project.yml")
        return manifest.exists() and manifest.stat().st_mtime >= max(p.stat().st_mtime for p in sources)

    if fresh():
        return
    with exclusive(PARSE_LOCK):
        if not fresh():  # else another command made it while this one waited
            dbt_resource(database_url).parse()


def database() -> str:
    """The set-up of a command that needs the database and nothing else (access, export,
    report, demo tokens, db): its URL, the embedded server started when none is named, the
    schema migrated."""
    url, _ = resolve_urls()
    migrate(url)
    return url


def web_process(landing: Path | str) -> Config:
    """The set-up of the web app's process: in production (ANALYTICS_WEB_DATABASE_URL set) it
    holds only its login role and migrates nothing; elsewhere it gets the pipeline's keys and
    database, but no Dagster home or dbt manifest, which it never reads."""
    config = replace(load_config(), landing=landing_root(landing))
    if config.web.web_database_url:
        return config
    return _with_keys_and_database(config)[0]


def _with_keys_and_database(config: Config) -> tuple[Config, str]:
    """`config` with its keys and its database resolved (the embedded server started when none
    is named, the schema migrated), and the Dagster storage URL."""
    # The keys first: production without them must stop before writing anything.
    key, directory_key = config.pii_key(), config.directory_key()
    database_url, storage_url = resolve_urls(config)
    migrate(database_url)
    config = replace(
        config, database_url=database_url, pii_key_text=key.decode(), directory_key_text=directory_key.decode()
    )
    return config, storage_url


def bootstrap(landing: Path | str | None = None) -> Config:
    """The set-up of a command that runs the pipeline: the configuration, resolved (the
    embedded server started when no database is named, the schema migrated, a key and a
    Dagster home in place) and written into the environment for the processes it starts."""
    config = load_config()
    if landing:
        config = replace(config, landing=landing_root(landing))
    config, storage_url = _with_keys_and_database(config)
    config = replace(config, dagster_home=ensure_dagster_home(config))
    # The one place the environment is written: the Dagster instance, the processes `dagster
    # dev` starts and the run workers read the resolved configuration from it.
    os.environ.update(config.environment(storage_url))
    ensure_dbt_manifest(config.database_url)
    return config
