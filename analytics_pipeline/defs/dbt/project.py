"""The dbt project beside the package. Its manifest is built by `analytics-pipeline prepare`
(`dbt parse`, with the dbt beside this Python), which every CLI entry point runs first, and
by `make`, so it exists in CI and under `dagster dev` alike."""

import os
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.compat import DBT_PYTHON_VERSION

from analytics_pipeline.db.urls import dbt_env
from analytics_pipeline.executables import console_script

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class AnalyticsDbtResource(DbtCliResource):
    """dbt, connected where everything else is: profiles.yml reads the variables derived
    here from the one database URL. dagster-dbt starts dbt with this process's environment
    and takes no other, so each command sets them there first."""

    database_url: str | None = None

    def cli(self, args, **kwargs):
        if self.database_url:
            os.environ.update(dbt_env(self.database_url))
        return super().cli(args, **kwargs)

    # Before every command, dagster-dbt would ask the dbt executable its version (a `dbt
    # --version` process) and load dbt's macros in-process for an adapter: about 3 s, where a
    # small run's whole dbt build takes 6. The dbt it runs is the dbt-core installed beside
    # this Python, and the adapter serves only column metadata and row counts, which these
    # assets do not fetch (bench/README.md, the loop).
    @cached_property
    def _cli_version(self):
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args) -> None:
        return None


def dbt_resource(database_url: str | dg.EnvVar | None = None) -> AnalyticsDbtResource:
    """The definitions pass EnvVar("ANALYTICS_DATABASE_URL"); the CLI's own dbt commands
    (parse, docs) pass the URL bootstrap resolved, or nothing when they need no database."""
    return AnalyticsDbtResource(
        project_dir=dbt_project, dbt_executable=console_script("dbt"), database_url=database_url
    )
