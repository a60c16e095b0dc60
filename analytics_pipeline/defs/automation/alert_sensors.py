"""Alerting sensors: failed checks (once per failure, and once when resolved) and failed runs."""

import json

import dagster as dg

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.defs.automation.rules import PARTITION_TAG
from analytics_pipeline.defs.resources import PostgresResource
from analytics_pipeline.monitoring.webhook import check_alert, deliver, run_failure_alert


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts a check that starts failing, and again when it passes, to the alert webhook.",
)
def check_alert_sensor(context: dg.SensorEvaluationContext):
    # cursor: {check: [id of the last evaluation handled, failing then]}
    state: dict[str, list] = json.loads(context.cursor or "{}")
    keys = list(context.repository_def.asset_graph.asset_check_keys)
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    sent = 0
    for key, record in latest.items():
        evaluation = record.event and record.event.dagster_event and record.event.dagster_event.event_specific_data
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            continue  # planned (its run is under way): no result yet
        name = key.to_user_string()
        last_id, was_failing = state.get(name, [0, False])
        if record.id <= last_id:
            continue
        if evaluation.passed == (not was_failing):  # no change: nothing to tell anyone
            state[name] = [record.id, was_failing]
            continue
        payload = check_alert(
            asset=key.asset_key.to_user_string(),
            check=key.name,
            passed=evaluation.passed,
            severity=evaluation.severity.value,
            metadata={k: v.value for k, v in evaluation.metadata.items()},
        )
        if deliver(payload):  # undelivered: the state stays, the next tick tries again
            state[name] = [record.id, not evaluation.passed]
            sent += 1
    cursor = json.dumps(state, sort_keys=True)
    if not sent:
        return dg.SensorResult(skip_reason="no check changed state", cursor=cursor)
    return dg.SensorResult(cursor=cursor)


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records failed runs in raw.run_failures (for /metrics) and posts them to the alert webhook.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, database: PostgresResource):
    run = context.dagster_run
    with database.connect() as conn:
        conn.execute(
            load_sql("monitoring/record_run_failure"),
            {"run_id": run.run_id, "job_name": run.job_name, "partition_key": run.tags.get(PARTITION_TAG)},
        )
    deliver(
        run_failure_alert(
            job=run.job_name,
            run_id=run.run_id,
            partition=run.tags.get(PARTITION_TAG),
            error=context.failure_event.message or "unknown error",
        )
    )
