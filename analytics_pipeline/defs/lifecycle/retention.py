"""The retention job and its daily schedule (lifecycle/retention.py does the work), and the
pruning of Dagster's own run history to the same kind of window."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from analytics_pipeline.config import load_config
from analytics_pipeline.defs.automation.rules import partitions_to_roll_up
from analytics_pipeline.defs.resources import LandingZoneResource, PostgresResource
from analytics_pipeline.lifecycle.retention import apply_retention

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def prune_run_history(instance: dg.DagsterInstance, days: int) -> int:
    """Delete finished runs created more than `days` ago, with their event logs."""
    before = datetime.now(UTC) - timedelta(days=days)
    records = instance.get_run_records(dg.RunsFilter(created_before=before, statuses=FINISHED))
    for record in records:
        instance.delete_run(record.dagster_run.run_id)
    return len(records)


@dg.op(description="Drop what is past each retention window (ANALYTICS_*_RETENTION_DAYS).")
def apply_retention_op(context: dg.OpExecutionContext, database: PostgresResource, landing: LandingZoneResource):
    settings = load_config().retention
    behind = partitions_to_roll_up(context.instance)
    with database.connect() as conn:
        summary = apply_retention(
            conn, landing.path, settings, datetime.now(UTC).date(), rolled_up=lambda day: day not in behind
        )
    runs = prune_run_history(context.instance, settings.run_history_days)
    context.log.info(
        f"retention: {len(summary.partitions_dropped)} partitions dropped, {summary.landed_files_deleted} landed "
        f"files, {summary.event_ids_deleted} event ids, {summary.dead_letters_deleted} dead letters, "
        f"{summary.quarantined_files_deleted} quarantined files, {runs} runs deleted"
    )
    return summary.partitions_dropped


@dg.job(description="Retention: raw partitions, event ids, dead letters, quarantined files and run history.")
def retention_job():
    apply_retention_op()


retention_schedule = dg.ScheduleDefinition(
    name="retention_schedule",
    job=retention_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: let go of what is past the retention windows.",
)
