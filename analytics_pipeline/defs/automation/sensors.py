"""Sensors: new landing files → ingestion (which rolls up what it ingested); partitions
ingested but not rolled up → rollups; anything new upstream of the marts → marts. What counts
as new is decided by the rules in rules.py, which `analytics-pipeline run` follows too; every
request has a run key, so a repeated tick requests nothing twice.
"""

import hashlib
import json

import dagster as dg

from analytics_pipeline.config import load_config
from analytics_pipeline.defs.automation.rules import (
    IN_FLIGHT,
    WAITING,
    job_in_flight,
    marts_behind,
    partitions_to_roll_up,
    partitions_with_runs,
    pending_by_partition,
    run_key_for,
)
from analytics_pipeline.defs.jobs import (
    ingest_partition_job,
    marts_job,
    reference_job,
    rollup_partition_job,
)
from analytics_pipeline.defs.resources import LandingZoneResource, PostgresResource
from analytics_pipeline.ingestion.reference import ReferenceDataError, changed_snapshots

RUNNING = dg.DefaultSensorStatus.RUNNING


@dg.sensor(
    jobs=[ingest_partition_job, reference_job],
    minimum_interval_seconds=load_config().landing_sensor_seconds,
    default_status=RUNNING,
    description="Reloads changed reference snapshots, then requests ingestion of every "
    "received-date partition with files not yet ingested.",
)
def landing_sensor(context: dg.SensorEvaluationContext, database: PostgresResource, landing: LandingZoneResource):
    # cursor: {partition: the run key last requested for it}. An older cursor's entries are
    # dropped: their requests keep their run keys, which Dagster does not launch twice.
    requested: dict[str, str] = {
        key: value for key, value in json.loads(context.cursor or "{}").items() if isinstance(value, str)
    }
    with database.connect() as conn:
        try:
            changed = changed_snapshots(conn, landing.path)
        except ReferenceDataError as exc:
            return dg.SensorResult(skip_reason=f"not ingesting: {exc}", cursor=context.cursor)
        by_partition, outside = pending_by_partition(conn, landing.path)
    if changed:
        # Events are judged against the snapshots (courses, enrollments): load those first;
        # ingestion follows on the first tick that finds them current.
        digest = hashlib.sha1("".join(sorted(changed.values())).encode()).hexdigest()[:16]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(job_name=reference_job.name, run_key=f"reference:{digest}")],
            cursor=context.cursor,
        )
    for key in outside:
        context.log.warning(f"landing folder received_date={key} is outside the partition range")
    requests = []
    # A run still waiting to start takes every file pending when it starts: no second one.
    waiting = partitions_with_runs(context.instance, ingest_partition_job.name, WAITING)
    for key, batch_ids in sorted(by_partition.items()):
        if key in waiting:
            continue
        # The set of pending files names the request: the same files trigger once, one more
        # file (a late one included) triggers again, and so do the same files once the run
        # that took them failed for good (run_key_for).
        fingerprint = hashlib.sha1("\n".join(sorted(batch_ids)).encode()).hexdigest()[:16]
        run_key = run_key_for(context.instance, ingest_partition_job.name, f"ingest:{key}:{fingerprint}", key)
        if requested.get(key) == run_key:
            continue
        requests.append(dg.RunRequest(job_name=ingest_partition_job.name, partition_key=key, run_key=run_key))
        requested[key] = run_key
    cursor = json.dumps({k: v for k, v in requested.items() if k in by_partition}, sort_keys=True)
    if not requests:
        pending = sum(len(ids) for ids in by_partition.values())
        return dg.SensorResult(skip_reason=f"{pending} pending file(s), all already requested", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)


@dg.sensor(
    job=rollup_partition_job,
    minimum_interval_seconds=10,
    default_status=RUNNING,
    description="Requests the progress rollups of every partition ingested since its rollup last completed.",
)
def rollup_sensor(context: dg.SensorEvaluationContext):
    # An ingest run rolls up its own partition: one still under way is not behind.
    ingesting = partitions_with_runs(context.instance, ingest_partition_job.name, IN_FLIGHT)
    behind = {key: at for key, at in partitions_to_roll_up(context.instance).items() if key not in ingesting}
    if not behind:
        return dg.SensorResult(skip_reason="every ingested partition is rolled up")
    # The run key names the ingestion a rollup catches up with: asked again while that run
    # is queued or running, Dagster skips the repeat; once it failed for good, it is asked
    # again under a new key (run_key_for).
    job = rollup_partition_job.name
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(partition_key=key, run_key=run_key_for(context.instance, job, f"rollup:{key}:{at}", key))
            for key, at in sorted(behind.items())
        ]
    )


@dg.sensor(
    job=marts_job,
    minimum_interval_seconds=10,
    default_status=RUNNING,
    description="Requests one marts rebuild when anything upstream changed since the last one.",
)
def marts_sensor(context: dg.SensorEvaluationContext):
    newest = marts_behind(context.instance)
    if newest is None:
        return dg.SensorResult(skip_reason="the marts reflect everything upstream")
    # One dbt build at a time: concurrent builds of the same models collide on dbt's temp
    # relations. The next tick after this run picks up whatever it did not reflect.
    if job_in_flight(context.instance, marts_job.name):
        return dg.SensorResult(skip_reason="a marts run is in flight")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=run_key_for(context.instance, marts_job.name, f"marts:{newest}", None))]
    )
