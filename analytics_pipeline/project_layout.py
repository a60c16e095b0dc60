"""Where the project's parts sit on disk, for code that must not import Dagster to find them."""

from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
