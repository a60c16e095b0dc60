"""The Dagster code location: `dagster dev -w workspace.yaml` and the CLI load this.

Each domain under `defs/` (ingestion, rollups, dbt, reports, checks, automation) declares its
assets, checks, jobs, sensors and schedules at module scope; Dagster's defs-folder loader
collects them, so adding one is one edit in its own module.
"""

import warnings
from pathlib import Path

import dagster as dg

import analytics_pipeline.defs

with warnings.catch_warnings():
    # Module-scope collection is a preview API; the Dagster pin in pyproject.toml holds it still.
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    defs = dg.ComponentTree.from_module(
        defs_module=analytics_pipeline.defs, project_root=Path(__file__).resolve().parents[1]
    ).build_defs()
