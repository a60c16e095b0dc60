"""The graph's automation rules, in one place: what needs ingesting, rolling up or rebuilding.

The sensors, the catch-up schedules and `analytics-pipeline run` all ask these same
questions, so the daemon and a hand-run `run` agree: after a `run`, the daemon finds nothing
to do until something new lands. Each rule compares state (the batch ledger, the latest
materialization of each asset per partition), not a sensor's memory, so late files and older
partitions are caught as surely as today's.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import dagster as dg
import psycopg

from analytics_pipeline.config import load_config
from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.defs.jobs import ROLLUP_ASSETS
from analytics_pipeline.defs.keys import MARTS_INPUT_KEYS, PUBLISHED_KEY, RAW_EVENTS_KEY
from analytics_pipeline.defs.partitions import daily_partitions
from analytics_pipeline.ingestion.settled_folders import LandingScan

PARTITION_TAG = "dagster/partition"
RUN_KEY_TAG = "dagster/run_key"
ROOT_RUN_TAG = "dagster/root_run_id"  # on each retry: the run its group of retries began with
ROLLUP_KEYS = tuple(key for asset in ROLLUP_ASSETS for key in asset.keys)
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def pending_by_partition(
    conn: psycopg.Connection, landing: Path, every_folder: bool = False
) -> tuple[dict[str, list[str]], list[str]]:
    """({partition: its landed batch ids not yet ingested}, folders outside the partition
    range). Folders settled and not modified since are not listed, unless `every_folder`
    (ingestion/settled_folders.py); the folders this look settles are recorded."""
    scan = LandingScan.of(conn, landing, every_folder)
    scan.record(conn)
    by_key: dict[str, list[str]] = defaultdict(list)
    for batch in scan.pending:
        by_key[batch.partition_key].append(batch.batch_id)
    # Asked once per folder, not per file: each answer walks the partitions' cron schedule.
    outside = sorted(key for key in by_key if not daily_partitions.has_partition_key(key))
    return {key: ids for key, ids in by_key.items() if key not in outside}, outside


def latest_by_partition(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, int]:
    """{partition: storage id of its latest materialization of `key`}, in one query."""
    return dict(
        instance.event_log_storage.get_latest_storage_id_by_partition(key, dg.DagsterEventType.ASSET_MATERIALIZATION)
    )


def partitions_to_roll_up(instance: dg.DagsterInstance) -> dict[str, int]:
    """{partition: storage id of its latest ingestion} for every partition ingested after one
    of its rollup assets last materialized: never rolled up, rolled up before late files
    arrived, or a run stopped between ingest and rollup."""
    ingested = latest_by_partition(instance, RAW_EVENTS_KEY)
    behind = {}
    for key in ROLLUP_KEYS:
        rolled = latest_by_partition(instance, key)
        behind |= {partition: at for partition, at in ingested.items() if rolled.get(partition, -1) < at}
    return behind


def unrecorded_ingests(conn: psycopg.Connection, instance: dg.DagsterInstance) -> set[str]:
    """Partitions that took in files after the instance last recorded their ingestion: a run
    stopped between the commit and the materialization, so no sensor or rollup knows."""
    latest = latest_by_partition(instance, RAW_EVENTS_KEY)
    records = (
        instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=RAW_EVENTS_KEY, storage_ids=list(latest.values())), limit=len(latest)
        ).records
        if latest
        else []
    )
    recorded_at = {record.partition_key: record.timestamp for record in records}
    return {
        day.isoformat()
        for day, last_ingested_at in conn.execute(load_sql("ingest/last_ingest_by_partition"))
        if recorded_at.get(day.isoformat(), -1.0) < last_ingested_at.timestamp()
    }


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey) -> int:
    records = instance.fetch_materializations(key, limit=1).records
    return records[0].storage_id if records else -1


def _marts_reflect(instance: dg.DagsterInstance) -> int:
    """The storage id up to which the last complete marts run reflects what is upstream: the
    start of the first run of its group of retries that started, as each step the group ran
    read everything after it (a retry runs only the steps that failed). Not its end: an
    upstream materialization recorded while the build ran may have committed after the build
    read those tables."""
    published = instance.fetch_materializations(PUBLISHED_KEY, limit=1).records
    if not published:
        return -1
    run = instance.get_run_by_id(published[0].run_id) if published[0].run_id else None
    if run is None:  # reported by hand, outside a run: as of the report
        return published[0].storage_id
    root = run.root_run_id or run.run_id
    start = _run_start(instance, root)
    if start is not None:  # the usual case: no retry can have started before it
        return start
    # The first run never started (run monitoring fails a run that does not start in time): it
    # ran no step, and its retries built everything.
    retries = instance.get_run_ids(dg.RunsFilter(tags={ROOT_RUN_TAG: root}))
    return min((began for run_id in retries if (began := _run_start(instance, run_id)) is not None), default=-1)


def _run_start(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The storage id of the run's start, None if it never started."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_START, limit=1).records
    return records[0].storage_id if records else None


def rolled_up_ever(instance: dg.DagsterInstance) -> bool:
    """Whether a rollup has run: the marts read the incremental models, whose tables it creates."""
    return all(_latest(instance, key) >= 0 for key in ROLLUP_KEYS)


def marts_behind(instance: dg.DagsterInstance) -> int | None:
    """The newest upstream materialization (storage id) that the last complete marts run does
    not reflect, or None when the marts are current. Before the first rollup there is nothing
    to publish."""
    if not rolled_up_ever(instance):
        return None
    newest = max(_latest(instance, key) for key in MARTS_INPUT_KEYS)
    return newest if newest > _marts_reflect(instance) else None


WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]


def partitions_with_runs(instance: dg.DagsterInstance, job_name: str, statuses: list) -> set[str]:
    """Partitions with a run of `job_name` in one of `statuses`: a sensor's run of one
    partition, or a backfill's or `run`'s run over a range of them."""
    partitions: set[str] = set()
    for run in instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=statuses)):
        if PARTITION_TAG in run.tags:
            partitions.add(run.tags[PARTITION_TAG])
        elif "dagster/asset_partition_range_start" in run.tags:
            span = dg.PartitionKeyRange(
                run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]
            )
            partitions.update(daily_partitions.get_partition_keys_in_range(span))
    return partitions


def failed_for_good(instance: dg.DagsterInstance, job_name: str, partition: str | None, seconds: float) -> bool:
    """Whether the latest run of `job_name` for `partition` (None: of any) failed at least
    `seconds` ago. Run retries launch within seconds of a failure, as a newer run: a failure
    that old with nothing after it had its retries spent, or was never retried (a run failed
    by run monitoring for not starting can be left so). A canceled run is someone's choice: it
    is left to the daily catch-up schedules, or to the next change upstream."""
    tags = {PARTITION_TAG: partition} if partition else None
    records = instance.get_run_records(dg.RunsFilter(job_name=job_name, tags=tags), limit=1)
    if not records:
        return False
    latest = records[0]
    return (
        latest.dagster_run.status == dg.DagsterRunStatus.FAILURE
        and latest.end_time is not None
        and time.time() - latest.end_time >= seconds
    )


def _numbered(base_key: str, again: int) -> str:
    return f"{base_key}:{again}" if again else base_key


def run_key_for(instance: dg.DagsterInstance, job_name: str, base_key: str, partition: str | None) -> str:
    """The run key a sensor requests the work named `base_key` under (the state it brings up
    to date), from the runs requested before: `base_key` itself, numbered with the times it
    was asked again. The work is asked again, under the next number, once the job's latest
    run for `partition` failed for good, ANALYTICS_REQUEST_AGAIN_SECONDS after it (a
    wait that doubles each time); until then the key stays the last one asked, which Dagster
    does not launch twice."""
    asked = 0
    while _has_run(instance, job_name, _numbered(base_key, asked)):
        asked += 1
    if asked and not failed_for_good(
        instance, job_name, partition, load_config().request_again_seconds * 2 ** (asked - 1)
    ):
        asked -= 1
    return _numbered(base_key, asked)


def _has_run(instance: dg.DagsterInstance, job_name: str, run_key: str) -> bool:
    return bool(instance.get_run_records(dg.RunsFilter(job_name=job_name, tags={RUN_KEY_TAG: run_key}), limit=1))


def job_in_flight(instance: dg.DagsterInstance, job_name: str) -> bool:
    return bool(instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT), limit=1))
