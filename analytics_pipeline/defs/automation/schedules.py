"""Schedules: catch up on anything the sensors missed, and evaluate the checks on their own."""

import dagster as dg

from analytics_pipeline.defs.automation.catch_up import unfinished_rollups
from analytics_pipeline.defs.jobs import (
    ingest_partition_job,
    integrity_checks_job,
    rollup_partition_job,
    sla_checks_job,
)
from analytics_pipeline.defs.partitions import daily_partitions
from analytics_pipeline.defs.resources import LandingZoneResource, PostgresResource
from analytics_pipeline.ingestion.partition import pending_batches

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
        keys = sorted({b.partition_key for b in pending_batches(conn, landing.path)})
    stamp = context.scheduled_execution_time.isoformat()
    return [
        dg.RunRequest(partition_key=key, run_key=f"catch-up:{key}:{stamp}")
        for key in keys
        if daily_partitions.has_partition_key(key)
    ] or dg.SkipReason("every landed file is ingested")


@dg.schedule(
    job=rollup_partition_job,
    cron_schedule="45 0 * * *",
    execution_timezone="UTC",
    default_status=RUNNING,
    description="Daily: roll up every raw partition ingested since its rollup last completed.",
)
def rollup_catch_up_schedule(context: dg.ScheduleEvaluationContext):
    behind = unfinished_rollups(context.instance)
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
