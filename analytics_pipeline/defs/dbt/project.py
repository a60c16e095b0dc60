"""The dbt project beside the package. Its manifest is built by `analytics-pipeline prepare`
(`dbt parse`), in CI and before any run: never only by `dagster dev`."""

from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
