"""Jobs the CLI, sensors and schedules launch."""

import dagster as dg

from analytics_pipeline.defs.checks.asset_checks import (
    integrity_checks,
    mart_freshness_check,
    sla_checks,
)
from analytics_pipeline.defs.dbt.assets import (
    analytics_dbt_incremental_models,
    analytics_dbt_models,
)
from analytics_pipeline.defs.ingestion.assets import (
    lms_reference_snapshots,
    raw_analytics_events,
)
from analytics_pipeline.defs.reports.assets import org_summaries
from analytics_pipeline.defs.rollups.assets import (
    user_course_progress,
    user_lesson_progress,
)

reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.assets(lms_reference_snapshots),
    description="Reload the LMS reference snapshots that changed.",
)

# What a partition's rollup materializes; the automation rules (defs/automation/rules.py)
# compare each with the partition's ingestion.
ROLLUP_ASSETS = (user_lesson_progress, user_course_progress, analytics_dbt_incremental_models)

# A landed file reaches learner progress and the incremental marts in the run that ingests it:
# one run launch, not two. Checks over the whole raw table run on their own schedule.
ingest_partition_job = dg.define_asset_job(
    "ingest_partition_job",
    selection=dg.AssetSelection.assets(raw_analytics_events).without_checks()
    | dg.AssetSelection.assets(*ROLLUP_ASSETS),
    description="Ingest the pending batch files of a received-date partition (or a range of them), "
    "and fold them into learner progress and the incremental marts.",
)

# Rolls up again what an ingest run did not: a run stopped after its ingestion, a replay.
rollup_partition_job = dg.define_asset_job(
    "rollup_partition_job",
    selection=dg.AssetSelection.assets(*ROLLUP_ASSETS),
    description="Fold one partition's events into learner progress and the incremental marts.",
)

# The dbt tests run right after the marts they guard; freshness is judged by its
# own schedule (a check inside the job that refreshes would always pass).
marts_job = dg.define_asset_job(
    "marts_job",
    selection=dg.AssetSelection.assets(analytics_dbt_models, org_summaries)
    - dg.AssetSelection.checks(mart_freshness_check),
    description="Rebuild the dbt models (with their tests) and the per-org insights.",
)

sla_checks_job = dg.define_asset_job(
    "sla_checks_job",
    selection=dg.AssetSelection.checks(*sla_checks),
    description="Evaluate the freshness and ingest-lag SLAs.",
)

integrity_checks_job = dg.define_asset_job(
    "integrity_checks_job",
    selection=dg.AssetSelection.checks(*integrity_checks),
    description="Evaluate id uniqueness, batch conservation and the dead-letter rate.",
)
