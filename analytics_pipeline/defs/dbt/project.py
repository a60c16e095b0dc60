"""The dbt project beside the package. Its manifest is built by `analytics-pipeline prepare`
(`dbt parse`, with the dbt beside this Python), which every CLI entry point runs first, and
by `make`, so it exists in CI and under `dagster dev` alike."""

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, DbtProject
from dagster_dbt.asset_utils import (
    DBT_INDIRECT_SELECTION_ENV,
    extract_runtime_selection_from_args,
    get_updated_cli_invocation_params_for_context,
)
from dagster_dbt.compat import DBT_PYTHON_VERSION

from analytics_pipeline.db.urls import dbt_env
from analytics_pipeline.defs.dbt.in_process import DbtCommand
from analytics_pipeline.executables import console_script
from analytics_pipeline.project_layout import DBT_PROJECT_DIR
from analytics_pipeline.shared_files import replace_whole

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# dagster-dbt starts each command in a target folder of its own, seeded with dbt's
# partial-parse state, without which every command parses the whole project again. dbt also
# parses it all again when the state was made on another connection (its hash covers host,
# port, user and database), so each database dbt works in keeps its own, the last few of
# them; this one, written by `prepare`, seeds the first command on a database.
PARSE_STATE = DBT_PROJECT_DIR / dbt_project.target_path / "partial_parse.msgpack"
PARSE_STATES = PARSE_STATE.parent / "parse_states"
KEEP_PARSE_STATES = 32
# Held while the project is parsed: commands started together on a stale manifest (`make dev`
# beside `make serve`) take turns, and the later ones can find it made.
PARSE_LOCK = PARSE_STATE.parent / ".parse.lock"


def parse_state(database_url: str | None) -> Path:
    """Where the parse state of dbt commands on `database_url` is kept."""
    if not database_url:
        return PARSE_STATE
    connection = {k: v for k, v in dbt_env(database_url).items() if k != "ANALYTICS_DBT_PASSWORD"}
    return PARSE_STATES / f"{hashlib.sha256(json.dumps(connection, sort_keys=True).encode()).hexdigest()[:16]}.msgpack"


def keep_parse_state(made: Path, database_url: str | None) -> None:
    """Hand the state a command made on to the next command on its database (replaced whole,
    as other processes may be reading it), and forget the databases not used for longest."""
    replace_whole(parse_state(database_url), made.read_bytes())
    for stale in sorted(PARSE_STATES.glob("*.msgpack"), key=_modified)[:-KEEP_PARSE_STATES]:
        stale.unlink(missing_ok=True)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # forgotten meanwhile by another process
        return 0.0


class AnalyticsDbtResource(DbtCliResource):
    """dbt, connected where everything else is (profiles.yml reads the variables derived here
    from the one database URL), and run in this process: dagster-dbt would start a new
    interpreter per command, which spends longer importing dbt than a small build takes.

    `cli` is dagster-dbt's own, with the process swapped for `DbtCommand`: the selection
    computed from the context the same way, the same variables, the same target folder seeded
    with the parse state, the same event stream."""

    database_url: str | None = None

    def cli(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        raise_on_error: bool = True,
        context: dg.AssetExecutionContext | None = None,
        target_path: Path | None = None,
    ) -> DbtCliInvocation:
        args, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context,
            manifest={},
            dagster_dbt_translator=DagsterDbtTranslator(),
            runtime_selects=selects,
            runtime_excludes=excludes,
        )
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir)
        target = project_dir / (target_path or self._get_unique_target_path(context=context))
        if target != PARSE_STATE.parent:
            target.mkdir(parents=True, exist_ok=True)
            for state in (parse_state(self.database_url), PARSE_STATE):
                with contextlib.suppress(FileNotFoundError):  # none yet, or just forgotten
                    shutil.copyfile(state, target / PARSE_STATE.name)
                    break
        variables = {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_LOG_FORMAT": "json",
            "DBT_TARGET_PATH": os.fspath(target),
            "DBT_LOG_PATH": os.fspath(target),
            "DBT_PROFILES_DIR": os.fspath(self.profiles_dir or project_dir),
            "DBT_PROJECT_DIR": os.fspath(project_dir),
            **({DBT_INDIRECT_SELECTION_ENV: params.indirect_selection} if params.indirect_selection else {}),
            **(dbt_env(self.database_url) if self.database_url else {}),
            **(env or {}),
        }
        return DbtCliInvocation(
            process=DbtCommand([self.dbt_executable, *args, *params.selection_args], variables, cwd=project_dir),
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            project_dir=project_dir,
            target_path=target,
            raise_on_error=raise_on_error,
            context=context,
            adapter=None,
            cli_version=DBT_PYTHON_VERSION,
            project=params.dbt_project,
        )

    def parse(self) -> None:
        """`dbt parse` for the project's own target folder: the manifest the definitions load,
        and the parse state every later command starts from. dbt writes them in a folder of
        its own, and each is then moved in whole: a process loading the definitions meanwhile
        reads the old manifest or the new one, never one half written."""
        PARSE_STATE.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".parse-", dir=PARSE_STATE.parent))
        try:
            self.cli(["parse", "--quiet"], target_path=staging).wait()
            for made in (dbt_project.manifest_path, PARSE_STATE):
                (staging / made.name).replace(made)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if self.database_url:
            keep_parse_state(PARSE_STATE, self.database_url)

    def build(self, context: dg.AssetExecutionContext, env: Mapping[str, str] | None = None) -> Iterator:
        """`dbt build` of the context's selection, its results streamed to Dagster. A build
        that succeeded hands its parse state on to the next command and leaves no folder
        behind (every run would add 4 MB); a failed one keeps its folder, dbt.log included.
        dbt writes no manifest.json or run_results.json: the results reach Dagster as events
        and the log keeps them, so the artifacts would only be written to be deleted."""
        invocation = self.cli(["build", "--no-write-json"], context=context, env=env)
        yield from invocation.stream()
        state = invocation.target_path / PARSE_STATE.name
        if state.exists():
            keep_parse_state(state, self.database_url)
        shutil.rmtree(invocation.target_path, ignore_errors=True)


def dbt_resource(database_url: str | dg.EnvVar | None = None) -> AnalyticsDbtResource:
    """The definitions pass EnvVar("ANALYTICS_DATABASE_URL"); the CLI's own dbt commands
    (parse, docs) pass the URL bootstrap resolved, or nothing when they need no database."""
    # The dbt command beside this Python: the dbt-core the commands run in-process, named in
    # their messages as a user would type them.
    return AnalyticsDbtResource(
        project_dir=dbt_project, dbt_executable=console_script("dbt"), database_url=database_url
    )
