"""Jobs the CLI, sensors and schedules launch."""

import dagster as dg

from analytics_pipeline.defs.dbt.assets import analytics_dbt_models
from analytics_pipeline.defs.ingestion.assets import lms_reference_snapshots, raw_analytics_events
from analytics_pipeline.defs.rollups.assets import analytics_insights, user_course_progress, user_lesson_progress

reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.assets(lms_reference_snapshots),
    description="Reload the LMS reference snapshots that changed.",
)

ingest_partition_job = dg.define_asset_job(
    "ingest_partition_job",
    selection=dg.AssetSelection.assets(raw_analytics_events, user_lesson_progress, user_course_progress),
    description="Ingest one received-date partition and fold it into learner progress.",
)

marts_job = dg.define_asset_job(
    "marts_job",
    selection=dg.AssetSelection.assets(analytics_dbt_models, analytics_insights),
    description="Rebuild the dbt models (with their tests) and the per-org insights.",
)
