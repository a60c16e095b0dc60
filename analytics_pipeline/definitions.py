"""The Dagster code location: `dagster dev -w workspace.yaml` and the CLI load this."""

import dagster as dg

from analytics_pipeline.defs.dbt.assets import analytics_dbt_models
from analytics_pipeline.defs.dbt.project import dbt_resource
from analytics_pipeline.defs.ingestion.assets import lms_reference_snapshots, raw_analytics_events
from analytics_pipeline.defs.jobs import ingest_partition_job, marts_job, reference_job
from analytics_pipeline.defs.resources import shared_resources
from analytics_pipeline.defs.rollups.assets import analytics_insights, user_course_progress, user_lesson_progress

defs = dg.Definitions(
    assets=[
        lms_reference_snapshots,
        raw_analytics_events,
        user_lesson_progress,
        user_course_progress,
        analytics_dbt_models,
        analytics_insights,
    ],
    jobs=[reference_job, ingest_partition_job, marts_job],
    resources={**shared_resources(), "dbt": dbt_resource()},
)
