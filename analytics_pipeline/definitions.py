"""The Dagster code location: `dagster dev -w workspace.yaml` and the CLI load this.

Each domain under `defs/` (ingestion, rollups, dbt, reports, checks, automation) declares its
assets, checks, jobs, sensors and schedules at module scope; Dagster's package loader
collects them, so adding one is one edit in its own module. Every job shares the resources
and the executor of `defs/resources.py`.
"""

import warnings

import dagster as dg

import analytics_pipeline.defs
from analytics_pipeline.defs.resources import EXECUTOR, all_resources

with warnings.catch_warnings():
    # Module-scope collection is a preview API; the Dagster pin in pyproject.toml holds it still.
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    defs = dg.load_definitions_from_package_module(
        analytics_pipeline.defs, resources=all_resources(), executor=EXECUTOR
    )
