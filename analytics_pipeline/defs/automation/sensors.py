"""Sensors: new landing files → ingestion; new raw partitions → rollups; new progress → marts.

Each sensor keeps a cursor of what it has already requested and gives every request a run
key, so a repeated tick requests nothing twice and a restarted daemon resumes where it was.
"""

import hashlib
import json
import os
from collections import defaultdict

import dagster as dg

from analytics_pipeline.defs.jobs import (
    ingest_partition_job,
    marts_job,
    reference_job,
    rollup_partition_job,
)
from analytics_pipeline.defs.partitions import daily_partitions
from analytics_pipeline.defs.resources import LandingZoneResource, PostgresResource
from analytics_pipeline.ingestion.partition import pending_batches
from analytics_pipeline.ingestion.reference import ReferenceDataError, changed_snapshots

RUNNING = dg.DefaultSensorStatus.RUNNING
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED]


def landing_interval_seconds() -> int:
    return int(os.environ.get("ANALYTICS_LANDING_SENSOR_SECONDS", "30"))


@dg.sensor(
    jobs=[ingest_partition_job, reference_job],
    minimum_interval_seconds=landing_interval_seconds(),
    default_status=RUNNING,
    description="Reloads changed reference snapshots, then requests ingestion of every "
    "received-date partition with files not yet ingested.",
)
def landing_sensor(context: dg.SensorEvaluationContext, database: PostgresResource, landing: LandingZoneResource):
    requested: dict[str, str] = json.loads(context.cursor or "{}")
    with database.connect() as conn:
        try:
            changed = changed_snapshots(conn, landing.path)
        except ReferenceDataError as exc:
            return dg.SensorResult(skip_reason=f"not ingesting: {exc}", cursor=context.cursor)
        pending = pending_batches(conn, landing.path)
    if changed:
        # Events are judged against the snapshots (courses, enrollments): load those first;
        # ingestion follows on the first tick that finds them current.
        digest = hashlib.sha1("".join(sorted(changed.values())).encode()).hexdigest()[:16]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(job_name=reference_job.name, run_key=f"reference:{digest}")],
            cursor=context.cursor,
        )
    by_partition: dict[str, list[str]] = defaultdict(list)
    for batch in pending:
        by_partition[batch.partition_key].append(batch.batch_id)
    requests = []
    for key, batch_ids in sorted(by_partition.items()):
        if not daily_partitions.has_partition_key(key):
            context.log.warning(f"landing folder received_date={key} is outside the partition range")
            continue
        # The set of pending files names the request: the same files never trigger twice,
        # one more file (a late one included) triggers again.
        fingerprint = hashlib.sha1("\n".join(sorted(batch_ids)).encode()).hexdigest()[:16]
        if requested.get(key) != fingerprint:
            requests.append(dg.RunRequest(
                job_name=ingest_partition_job.name, partition_key=key, run_key=f"ingest:{key}:{fingerprint}"
            ))
            requested[key] = fingerprint
    cursor = json.dumps({k: v for k, v in requested.items() if k in by_partition}, sort_keys=True)
    if not requests:
        return dg.SensorResult(skip_reason=f"{len(pending)} pending file(s), all already requested", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)


def _new_materializations(instance: dg.DagsterInstance, key: str, after: int | None) -> list[dg.EventLogRecord]:
    return list(
        instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), after_storage_id=after), limit=1000, ascending=True
        ).records
    )


@dg.sensor(
    job=rollup_partition_job,
    minimum_interval_seconds=10,
    default_status=RUNNING,
    description="Requests the progress rollups for each newly materialized raw_analytics_events partition.",
)
def rollup_sensor(context: dg.SensorEvaluationContext):
    after = int(context.cursor) if context.cursor else None
    records = _new_materializations(context.instance, "raw_analytics_events", after)
    if not records:
        return dg.SensorResult(skip_reason="no new raw partition", cursor=context.cursor)
    latest = {r.partition_key: r.storage_id for r in records}
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(partition_key=key, run_key=f"rollup:{key}:{storage_id}")
            for key, storage_id in sorted(latest.items())
        ],
        cursor=str(records[-1].storage_id),
    )


MARTS_INPUTS = ("user_course_progress", "lms_enrollments", "lms_lessons", "lms_courses", "lms_organizations")


@dg.sensor(
    job=marts_job,
    minimum_interval_seconds=10,
    default_status=RUNNING,
    description="Requests one marts rebuild for everything rolled up (or reloaded) since the last one.",
)
def marts_sensor(context: dg.SensorEvaluationContext):
    seen: dict[str, int] = json.loads(context.cursor or "{}")
    fresh = {key: _new_materializations(context.instance, key, seen.get(key)) for key in MARTS_INPUTS}
    if not any(fresh.values()):
        return dg.SensorResult(skip_reason="nothing new upstream of the marts", cursor=context.cursor)
    # One dbt build at a time: concurrent builds of the same models collide on dbt's temp
    # relations. Leave the cursor where it is; the next tick after this run picks it all up.
    if context.instance.get_runs(dg.RunsFilter(job_name=marts_job.name, statuses=IN_FLIGHT), limit=1):
        return dg.SensorResult(skip_reason="a marts run is in flight", cursor=context.cursor)
    for key, records in fresh.items():
        if records:
            seen[key] = records[-1].storage_id
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"marts:{max(seen.values())}")],
        cursor=json.dumps(seen, sort_keys=True),
    )
