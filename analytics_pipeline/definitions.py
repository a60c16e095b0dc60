"""The Dagster code location: `dagster dev -w workspace.yaml` and the CLI load this."""

import dagster as dg

from analytics_pipeline.defs.automation.alert_sensors import (
    check_alert_sensor,
    run_failure_alert_sensor,
)
from analytics_pipeline.defs.automation.schedules import (
    ingest_catch_up_schedule,
    integrity_checks_schedule,
    rollup_catch_up_schedule,
    sla_checks_schedule,
)
from analytics_pipeline.defs.automation.sensors import (
    landing_sensor,
    marts_sensor,
    rollup_sensor,
)
from analytics_pipeline.defs.checks.asset_checks import all_checks
from analytics_pipeline.defs.checks.resources import SlaResource
from analytics_pipeline.defs.dbt.assets import (
    analytics_dbt_incremental_models,
    analytics_dbt_models,
)
from analytics_pipeline.defs.dbt.project import dbt_resource
from analytics_pipeline.defs.ingestion.assets import (
    lms_reference_snapshots,
    raw_analytics_events,
)
from analytics_pipeline.defs.ingestion.replay_job import replay_dead_letters_job
from analytics_pipeline.defs.jobs import (
    ingest_partition_job,
    integrity_checks_job,
    marts_job,
    reference_job,
    rollup_partition_job,
    sla_checks_job,
)
from analytics_pipeline.defs.reports.assets import org_summaries
from analytics_pipeline.defs.resources import shared_resources
from analytics_pipeline.defs.rollups.assets import (
    user_course_progress,
    user_lesson_progress,
)

defs = dg.Definitions(
    assets=[
        lms_reference_snapshots,
        raw_analytics_events,
        user_lesson_progress,
        user_course_progress,
        analytics_dbt_models,
        analytics_dbt_incremental_models,
        org_summaries,
    ],
    asset_checks=all_checks,
    jobs=[
        reference_job,
        ingest_partition_job,
        rollup_partition_job,
        marts_job,
        sla_checks_job,
        integrity_checks_job,
        replay_dead_letters_job,
    ],
    sensors=[landing_sensor, rollup_sensor, marts_sensor, check_alert_sensor, run_failure_alert_sensor],
    schedules=[ingest_catch_up_schedule, rollup_catch_up_schedule, sla_checks_schedule, integrity_checks_schedule],
    resources={**shared_resources(), "dbt": dbt_resource(), "sla": SlaResource()},
)
