"""Schedules: catch up on anything the sensors missed, and evaluate the checks on their own."""

import dagster as dg

from analytics_pipeline.defs.automation.rules import partitions_to_roll_up, pending_by_partition
from analytics_pipeline.defs.jobs import (
    ingest_partition_job,
    integrity_checks_job,
    rollup_partition_job,
    sla_checks_job,
)
from analytics_pipeline.defs.resources import LandingZoneResource, PostgresResource

RUNNING = dg.DefaultScheduleStatus.RUNNING


@dg.schedule(
    job=ingest_partition_job,
    cron_schedule="30 0 * * *",
    execution_timezone="UTC",
    default_status=RUNNING,
    description="Daily: ingest every partition that has landed files not yet ingested.",
)
def ingest_catch_up_schedule(
    context: dg.ScheduleEvaluationContext, database: PostgresResource, landing: LandingZoneResource
):
    with database.connect() as conn:
        # Every folder, settled or not: the safety net under the sensor's shortcut.
        pending, _ = pending_by_partition(conn, landing.path, every_folder=True)
    stamp = context.scheduled_execution_time.isoformat()
    return [dg.RunRequest(partition_key=key, run_key=f"catch-up:{key}:{stamp}") for key in sorted(pending)] or (
        dg.SkipReason("every landed file is ingested")
    )


@dg.schedule(
    job=rollup_partition_job,
    cron_schedule="45 0 * * *",
    execution_timezone="UTC",
    default_status=RUNNING,
    description="Daily: roll up every raw partition ingested since its rollup last completed.",
)
def rollup_catch_up_schedule(context: dg.ScheduleEvaluationContext):
    behind = partitions_to_roll_up(context.instance)
    stamp = context.scheduled_execution_time.isoformat()
    return [dg.RunRequest(partition_key=key, run_key=f"catch-up:{key}:{stamp}") for key in sorted(behind)] or (
        dg.SkipReason("every raw partition is rolled up")
    )


sla_checks_schedule = dg.ScheduleDefinition(
    job=sla_checks_job,
    cron_schedule="* * * * *",
    execution_timezone="UTC",
    default_status=RUNNING,
    description="Every minute: mart freshness and ingest lag.",
)

integrity_checks_schedule = dg.ScheduleDefinition(
    job=integrity_checks_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    default_status=RUNNING,
    description="Hourly: id uniqueness, batch conservation, dead-letter rate.",
)
