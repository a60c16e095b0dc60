"""The dbt project beside the package. Its manifest is built by `analytics-pipeline prepare`
(`dbt parse`, with the dbt beside this Python), which every CLI entry point runs first, and
by `make`, so it exists in CI and under `dagster dev` alike."""

import os
import shutil
from collections.abc import Iterator, Mapping
from functools import cached_property

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.compat import DBT_PYTHON_VERSION

from analytics_pipeline.db.urls import dbt_env
from analytics_pipeline.env_vars import variables_set
from analytics_pipeline.executables import console_script
from analytics_pipeline.project_layout import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# dagster-dbt starts each command in a target folder of its own, seeded with this file when
# it exists: dbt's partial-parse state, without which every command parses the whole
# project again.
PARSE_STATE = DBT_PROJECT_DIR / dbt_project.target_path / "partial_parse.msgpack"


class AnalyticsDbtResource(DbtCliResource):
    """dbt, connected where everything else is: profiles.yml reads the variables derived
    here from the one database URL. dagster-dbt starts dbt with this process's environment
    and takes no other, so each command sets them there while it starts."""

    database_url: str | None = None

    def cli(self, args, *, env: Mapping[str, str] | None = None, **kwargs):
        variables = {**(dbt_env(self.database_url) if self.database_url else {}), **(env or {})}
        with variables_set(variables):
            return super().cli(args, **kwargs)

    def parse(self) -> None:
        """`dbt parse` into the project's own target folder: the manifest the definitions
        load, and the parse state every later command starts from."""
        self.cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()

    def build(self, context: dg.AssetExecutionContext, env: Mapping[str, str] | None = None) -> Iterator:
        """`dbt build` of the context's selection, its results streamed to Dagster. A build
        that succeeded hands its parse state on to the next command and leaves no folder
        behind (every run would add 4 MB); a failed one keeps its folder, dbt.log included."""
        invocation = self.cli(["build"], context=context, env=env)
        yield from invocation.stream()
        state = invocation.target_path / PARSE_STATE.name
        if state.exists():
            staged = PARSE_STATE.with_name(f"{PARSE_STATE.name}.{os.getpid()}")
            shutil.copyfile(state, staged)
            staged.replace(PARSE_STATE)
        shutil.rmtree(invocation.target_path, ignore_errors=True)

    # Before every command, dagster-dbt would ask the dbt executable its version (a `dbt
    # --version` process) and load dbt's macros in-process for an adapter: about half of a
    # small run's whole dbt build. The dbt it runs is the dbt-core installed beside this
    # Python, and the adapter serves only column metadata and row counts, which these assets
    # do not fetch.
    @cached_property
    def _cli_version(self):
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args) -> None:
        return None


def dbt_resource(database_url: str | dg.EnvVar | None = None) -> AnalyticsDbtResource:
    """The definitions pass EnvVar("ANALYTICS_DATABASE_URL"); the CLI's own dbt commands
    (parse, docs) pass the URL bootstrap resolved, or nothing when they need no database."""
    return AnalyticsDbtResource(
        project_dir=dbt_project, dbt_executable=console_script("analytics-dbt"), database_url=database_url
    )
