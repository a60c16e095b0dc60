"""The dbt project beside the package. Its manifest is built by `analytics-pipeline prepare`
(`dbt parse`, with the dbt beside this Python), which every CLI entry point runs first, and
by `make`, so it exists in CI and under `dagster dev` alike."""

from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from analytics_pipeline.executables import console_script

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=console_script("dbt"))
