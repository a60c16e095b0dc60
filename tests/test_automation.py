"""Sensors against a real Dagster instance on PostgreSQL (build_sensor_context)."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, StepMaterializationData

from analytics_pipeline.db.urls import sqlalchemy_psycopg2_url
from analytics_pipeline.defs.automation.rules import ROLLUP_KEYS, ROOT_RUN_TAG, marts_behind
from analytics_pipeline.defs.automation.schedules import ingest_catch_up_schedule
from analytics_pipeline.defs.automation.sensors import (
    landing_sensor,
    marts_sensor,
    rollup_sensor,
)
from analytics_pipeline.defs.ingestion.assets import (
    lms_reference_snapshots,
    raw_analytics_events,
)
from analytics_pipeline.defs.keys import PUBLISHED_KEY
from analytics_pipeline.defs.resources import (
    LandingZoneResource,
    PiiResource,
    PostgresResource,
)
from analytics_pipeline.defs.rollups.assets import (
    user_course_progress,
    user_lesson_progress,
)
from analytics_pipeline.in_process_run import pool_storage_connections
from analytics_pipeline.ingestion.partition import ingest_partition
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.ingestion.settled_folders import settled_folders
from analytics_pipeline.monitoring.figures import ingest_lag
from tests.conftest import TEST_DIRECTORY_KEY, TEST_PII_KEY
from tests.landing_helpers import event, write_batch, write_reference


@pytest.fixture
def instance(new_database):
    storage = {"postgres": {"postgres_url": sqlalchemy_psycopg2_url(new_database())}}
    with dg.instance_for_test(overrides={"storage": storage}) as test_instance:
        yield pool_storage_connections(test_instance)


@pytest.fixture
def landing(tmp_path):
    write_reference(tmp_path, [("org_a", "u1", "c1")])
    return tmp_path


@pytest.fixture
def resources(migrated_db, landing):
    return {
        "database": PostgresResource(url=migrated_db),
        "landing": LandingZoneResource(root=str(landing)),
        "pii": PiiResource(key=TEST_PII_KEY, directory_key=TEST_DIRECTORY_KEY),
    }


def tick(sensor, instance, resources=None, cursor=None):
    # Sensor and schedule contexts are closed where they are built: one left to the garbage
    # collector closes during a later test, and sets Dagster's current state storage back to
    # this test's disposed instance, where a later load of the definitions fails.
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        result = sensor(context)
    return result.run_requests or [], result.cursor


def test_landing_sensor_requests_each_partition_with_new_files_once(instance, landing, resources, conn):
    write_batch(landing, "2026-02-01", [event("u1", "c1")])
    write_batch(landing, "2026-02-01", [event("u1", "c1")])
    write_batch(landing, "2026-02-03", [event("u1", "c1", day="2026-02-03")])
    tokenizer = Tokenizer(TEST_PII_KEY.encode())

    # Snapshots not loaded yet: reference first, no ingestion before it.
    [reference_run], _ = tick(landing_sensor, instance, resources)
    assert reference_run.job_name == "reference_job" and reference_run.partition_key is None
    load_reference(conn, landing, tokenizer)

    requests, cursor = tick(landing_sensor, instance, resources)
    assert sorted(r.partition_key for r in requests) == ["2026-02-01", "2026-02-03"]
    assert len({r.run_key for r in requests}) == 2

    repeated, cursor = tick(landing_sensor, instance, resources, cursor)
    assert repeated == []

    # Both partitions get ingested; then a late file lands for the older day.
    for day in ("2026-02-01", "2026-02-03"):
        ingest_partition(conn, landing, day, tokenizer)
    assert tick(landing_sensor, instance, resources, cursor)[0] == []
    write_batch(landing, "2026-02-01", [event("u1", "c1", "lesson_completed")])
    late, cursor = tick(landing_sensor, instance, resources, cursor)
    assert [r.partition_key for r in late] == ["2026-02-01"]
    assert late[0].run_key not in {r.run_key for r in requests}


def test_landing_folders_settle_and_are_listed_again_only_once_they_change(instance, landing, resources, conn):
    """A tick lists the folders modified since all their files were handled, not every day the
    landing zone keeps; so do the ingest-lag figures. The daily catch-up lists them all."""
    tokenizer = Tokenizer(TEST_PII_KEY.encode())
    load_reference(conn, landing, tokenizer)
    days = ("2026-02-01", "2026-02-03")
    for day in days:
        write_batch(landing, day, [event("u1", "c1", day=day)])
        ingest_partition(conn, landing, day, tokenizer)
    folder = {day: landing / "events" / f"received_date={day}" for day in days}
    # The folders as a day's folders are once the day is over: last modified a minute ago.
    a_minute_ago = time.time_ns() - 60 * 10**9
    for path in folder.values():
        os.utime(path, ns=(a_minute_ago, a_minute_ago))
    assert tick(landing_sensor, instance, resources)[0] == []
    assert settled_folders(conn) == dict.fromkeys(days, a_minute_ago)

    # A file in a settled folder whose time did not move is not listed.
    write_batch(landing, "2026-02-01", [event("u1", "c1", "lesson_completed", day="2026-02-01")])
    os.utime(folder["2026-02-01"], ns=(a_minute_ago, a_minute_ago))
    requests, cursor = tick(landing_sensor, instance, resources)
    assert requests == [] and ingest_lag(conn, landing).pending_files == 0

    # A file landing moves its folder's time: that folder is listed again, and only that one.
    write_batch(landing, "2026-02-03", [event("u1", "c1", "lesson_completed", day="2026-02-03")])
    requests, cursor = tick(landing_sensor, instance, resources, cursor)
    assert [r.partition_key for r in requests] == ["2026-02-03"]
    assert settled_folders(conn) == {"2026-02-01": a_minute_ago}

    # The daily catch-up lists every folder, so the file of the settled folder is not lost.
    now = datetime.now(UTC)
    with dg.build_schedule_context(instance=instance, resources=resources, scheduled_execution_time=now) as context:
        catch_up = ingest_catch_up_schedule(context)
    assert [r.partition_key for r in catch_up] == ["2026-02-01", "2026-02-03"]
    assert settled_folders(conn) == {} and ingest_lag(conn, landing).pending_files == 2


def test_on_a_first_day_without_events_no_sensor_launches_a_run(instance, landing, resources):
    """`make dev` on a database with the snapshots and no event yet: nothing to ingest, roll
    up or publish, so no run starts, and none can fail."""
    dg.materialize([lms_reference_snapshots], instance=instance, resources=resources)
    assert tick(landing_sensor, instance, resources)[0] == []
    assert tick(rollup_sensor, instance)[0] == []
    assert tick(marts_sensor, instance)[0] == []


def test_rollup_and_marts_sensors_follow_the_state_of_the_graph(instance, landing, resources):
    write_batch(landing, "2026-02-02", [event("u1", "c1", day="2026-02-02")])
    assert tick(rollup_sensor, instance)[0] == []

    dg.materialize([lms_reference_snapshots], instance=instance, resources=resources)
    dg.materialize([raw_analytics_events], partition_key="2026-02-02", instance=instance, resources=resources)
    requests, _ = tick(rollup_sensor, instance)
    assert [r.partition_key for r in requests] == ["2026-02-02"]
    # Asked again before the rollup ran: the same run key, which Dagster does not launch twice.
    assert [r.run_key for r in tick(rollup_sensor, instance)[0]] == [requests[0].run_key]

    # Nothing to publish before the first rollup has built the incremental models.
    assert tick(marts_sensor, instance)[0] == []
    dg.materialize(
        [user_lesson_progress, user_course_progress], partition_key="2026-02-02", instance=instance, resources=resources
    )
    # Learner progress alone is not the whole rollup: the incremental mart is behind too.
    assert [r.partition_key for r in tick(rollup_sensor, instance)[0]] == ["2026-02-02"]
    assert tick(marts_sensor, instance)[0] == []
    for key in ROLLUP_KEYS:
        if key not in (user_lesson_progress.key, user_course_progress.key):
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="2026-02-02"))
    assert tick(rollup_sensor, instance)[0] == []
    marts_requests, _ = tick(marts_sensor, instance)
    assert len(marts_requests) == 1
    # Asked again before the build ran: the same run key.
    assert [r.run_key for r in tick(marts_sensor, instance)[0]] == [marts_requests[0].run_key]
    instance.report_runless_asset_event(dg.AssetMaterialization(PUBLISHED_KEY))
    assert tick(marts_sensor, instance)[0] == []

    # A rollup recorded while a marts build ran may have committed after the build read its
    # tables: the marts are behind it, though they were published after it.
    @dg.asset(key=PUBLISHED_KEY)
    def published_while_a_rollup_lands(context):
        rollup = dg.AssetMaterialization(user_course_progress.key, partition="2026-02-02")
        context.instance.report_runless_asset_event(rollup)

    dg.materialize([published_while_a_rollup_lands], instance=instance)
    assert len(tick(marts_sensor, instance)[0]) == 1
    instance.report_runless_asset_event(dg.AssetMaterialization(PUBLISHED_KEY))
    assert tick(marts_sensor, instance)[0] == []

    # A late file for the same day: ingested again, so rolled up again.
    write_batch(landing, "2026-02-02", [event("u1", "c1", day="2026-02-02")])
    dg.materialize([raw_analytics_events], partition_key="2026-02-02", instance=instance, resources=resources)
    late = tick(rollup_sensor, instance)[0]
    assert [r.partition_key for r in late] == ["2026-02-02"] and late[0].run_key != requests[0].run_key


def ingest_run(instance: dg.DagsterInstance, day: str, status: dg.DagsterRunStatus, last: str | None = None) -> None:
    """A run of ingest_partition_job for `day` (or the days from `day` to `last`, as a
    backfill's), recorded in `status` (as the daemon would)."""
    tags = {"dagster/partition": day}
    if last:
        tags = {"dagster/asset_partition_range_start": day, "dagster/asset_partition_range_end": last}
    instance.add_run(dg.DagsterRun(job_name="ingest_partition_job", run_id=str(uuid.uuid4()), status=status, tags=tags))


def ended_run(
    instance: dg.DagsterInstance, job_name: str, request: dg.RunRequest, status=dg.DagsterRunStatus.FAILURE
) -> None:
    """The run the daemon launches for a sensor's `request`, started and ended in `status`
    just now."""
    tags = {"dagster/run_key": request.run_key}
    if request.partition_key:
        tags["dagster/partition"] = request.partition_key
    run = dg.DagsterRun(job_name=job_name, run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED, tags=tags)
    instance.add_run(run)
    if status == dg.DagsterRunStatus.FAILURE:
        instance.report_run_failed(run)
    else:
        instance.report_run_canceled(run)


def test_files_whose_run_failed_for_good_are_asked_for_again_after_a_growing_wait(
    instance, landing, resources, conn, monkeypatch
):
    """Run retries cover a passing fault; files whose run failed for good (retries spent, or
    never launched) are asked for again, after a wait that doubles each time, rather than left
    to the daily catch-up. A failed run whose retry is under way, or a canceled one, is not
    repeated."""
    monkeypatch.setenv("ANALYTICS_REQUEST_AGAIN_SECONDS", "2")
    load_reference(conn, landing, Tokenizer(TEST_PII_KEY.encode()))
    days = ("2026-02-01", "2026-02-02", "2026-02-03")
    for day in days:
        write_batch(landing, day, [event("u1", "c1", day=day)])
    requests, cursor = tick(landing_sensor, instance, resources)
    seen = {r.run_key for r in requests}
    assert sorted(r.partition_key for r in requests) == list(days)

    def asks_nothing_before(deadline: float) -> None:
        """A tick never asks for the retried or canceled partition's files again, nor, if it
        was over before `deadline`, for the failed one's (a slow tick may end past it)."""
        asked = [r.partition_key for r in tick(landing_sensor, instance, resources, cursor)[0]]
        assert "2026-02-02" not in asked and "2026-02-03" not in asked
        if time.time() < deadline:
            assert asked == []

    first, second, third = sorted(requests, key=lambda r: r.partition_key)
    failed_at = time.time()  # at most the run's end time, which the wait counts from
    ended_run(instance, "ingest_partition_job", first)
    ended_run(instance, "ingest_partition_job", second)
    ingest_run(instance, "2026-02-02", dg.DagsterRunStatus.STARTED)  # its retry
    ended_run(instance, "ingest_partition_job", third, dg.DagsterRunStatus.CANCELED)
    for wait in (2, 4):
        asks_nothing_before(failed_at + wait)
        time.sleep(max(0.0, failed_at + wait / 2 - time.time()))
        asks_nothing_before(failed_at + wait)  # not yet
        time.sleep(max(0.0, failed_at + wait + 0.3 - time.time()))
        [again], cursor = tick(landing_sensor, instance, resources, cursor)
        assert again.partition_key == "2026-02-01" and again.run_key not in seen
        seen.add(again.run_key)
        assert tick(landing_sensor, instance, resources, cursor)[0] == []
        failed_at = time.time()
        ended_run(instance, "ingest_partition_job", again)  # and again: the wait doubles
    # The sensor's memory lost (a reset cursor): the run history still tells the last key.
    assert [r.run_key for r in tick(landing_sensor, instance, resources)[0] if r.partition_key == "2026-02-01"] == [
        again.run_key
    ]


def marts_run(instance: dg.DagsterInstance, retry_of: dg.DagsterRun | None = None) -> dg.DagsterRun:
    """A run of marts_job as the daemon records it, before it starts: a retry of `retry_of`'s
    group of retries when given."""
    root = retry_of and (retry_of.root_run_id or retry_of.run_id)
    tags = {ROOT_RUN_TAG: root, "dagster/parent_run_id": retry_of.run_id} if retry_of else {}
    run = dg.DagsterRun(
        job_name="marts_job",
        run_id=str(uuid.uuid4()),
        status=dg.DagsterRunStatus.STARTED,
        tags=tags,
        root_run_id=root,
        parent_run_id=retry_of and retry_of.run_id,
    )
    instance.add_run(run)
    return run


def run_event(instance: dg.DagsterInstance, run: dg.DagsterRun, kind: dg.DagsterEventType, data=None) -> None:
    instance.report_dagster_event(DagsterEvent(kind.value, run.job_name, event_specific_data=data), run.run_id)


def publish(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """`run` publishes the marts and succeeds."""
    published = StepMaterializationData(dg.AssetMaterialization(PUBLISHED_KEY))
    run_event(instance, run, dg.DagsterEventType.ASSET_MATERIALIZATION, published)
    run_event(instance, run, dg.DagsterEventType.RUN_SUCCESS)


def test_the_marts_reflect_what_was_upstream_when_the_first_run_of_their_retries_started(instance):
    """Run monitoring fails a marts run that does not start in time, and its retry builds the
    marts: they reflect what was upstream when the retry started, and no build is asked for
    again. A retry of a run that did start runs only its failed steps, so the marts reflect
    what was upstream when that first run started."""
    for key in ROLLUP_KEYS:
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="2026-02-02"))
    [request] = tick(marts_sensor, instance)[0]
    never_started = marts_run(instance)
    instance.report_run_failed(never_started)
    retry = marts_run(instance, retry_of=never_started)
    run_event(instance, retry, dg.DagsterEventType.RUN_START)
    publish(instance, retry)
    assert marts_behind(instance) is None
    assert tick(marts_sensor, instance)[0] == []

    started = marts_run(instance)
    run_event(instance, started, dg.DagsterEventType.RUN_START)
    instance.report_runless_asset_event(dg.AssetMaterialization(user_course_progress.key, partition="2026-02-02"))
    landed = instance.fetch_materializations(user_course_progress.key, limit=1).records[0].storage_id
    instance.report_run_failed(started)
    first_retry = marts_run(instance, retry_of=started)
    run_event(instance, first_retry, dg.DagsterEventType.RUN_START)
    instance.report_run_failed(first_retry)
    second_retry = marts_run(instance, retry_of=first_retry)
    run_event(instance, second_retry, dg.DagsterEventType.RUN_START)
    publish(instance, second_retry)
    assert marts_behind(instance) == landed
    assert [r.run_key for r in tick(marts_sensor, instance)[0]] == [f"marts:{landed}"] != [request.run_key]


def test_a_rollup_or_marts_build_that_failed_for_good_is_asked_for_again(instance, resources, monkeypatch):
    """The rollup and marts sensors name a request after the upstream state it brings up to
    date, so a run that failed for good would wait for new data: they ask again after the
    same doubling wait, under a new key."""
    monkeypatch.setenv("ANALYTICS_REQUEST_AGAIN_SECONDS", "1")

    def asks_the_same_key_before(sensor, key: str, deadline: float) -> None:
        """Within the wait, a tick asks under the failed run's key, which Dagster does not
        launch twice (if the tick was over before `deadline`: a slow one may end past it)."""
        asked = [r.run_key for r in tick(sensor, instance)[0]]
        if time.time() < deadline:
            assert asked == [key]

    dg.materialize([lms_reference_snapshots], instance=instance, resources=resources)
    dg.materialize([raw_analytics_events], partition_key="2026-02-02", instance=instance, resources=resources)
    [rollup] = tick(rollup_sensor, instance)[0]
    failed_at = time.time()  # at most the run's end time, which the wait counts from
    ended_run(instance, "rollup_partition_job", rollup)
    asks_the_same_key_before(rollup_sensor, rollup.run_key, failed_at + 1)  # its retries' time
    time.sleep(1.3)
    [rollup_again] = tick(rollup_sensor, instance)[0]
    assert rollup_again.partition_key == "2026-02-02" and rollup_again.run_key != rollup.run_key

    for key in ROLLUP_KEYS:
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="2026-02-02"))
    assert tick(rollup_sensor, instance)[0] == []
    [marts] = tick(marts_sensor, instance)[0]
    failed_at = time.time()
    ended_run(instance, "marts_job", marts)
    asks_the_same_key_before(marts_sensor, marts.run_key, failed_at + 1)
    time.sleep(1.3)
    [marts_again] = tick(marts_sensor, instance)[0]
    assert marts_again.run_key != marts.run_key
    # A canceled build is left alone.
    ended_run(instance, "marts_job", marts_again, dg.DagsterRunStatus.CANCELED)
    time.sleep(2.3)
    assert [r.run_key for r in tick(marts_sensor, instance)[0]] == [marts_again.run_key]


def test_a_partition_with_an_ingest_run_on_its_way_is_not_asked_for_again(instance, landing, resources, conn):
    """A queued ingest run takes every file pending when it starts, and an ingest run rolls up
    its own partition: neither sensor adds a run that would find nothing to do."""
    load_reference(conn, landing, Tokenizer(TEST_PII_KEY.encode()))
    write_batch(landing, "2026-02-01", [event("u1", "c1")])
    write_batch(landing, "2026-02-02", [event("u1", "c1", day="2026-02-02")])
    ingest_run(instance, "2026-02-01", dg.DagsterRunStatus.NOT_STARTED)
    requests, cursor = tick(landing_sensor, instance, resources)
    assert [r.partition_key for r in requests] == ["2026-02-02"]
    # Once that run is gone (here: canceled before it started), the files are asked for.
    for run in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.NOT_STARTED])):
        instance.report_run_canceled(run)
    assert [r.partition_key for r in tick(landing_sensor, instance, resources, cursor)[0]] == ["2026-02-01"]

    dg.materialize([raw_analytics_events], partition_key="2026-02-02", instance=instance, resources=resources)
    ingest_run(instance, "2026-02-02", dg.DagsterRunStatus.STARTED)
    assert tick(rollup_sensor, instance)[0] == []

    # A backfill's run over a range of days is on its way for each of them.
    for day in ("2026-02-03", "2026-02-04"):
        write_batch(landing, day, [event("u1", "c1", day=day)])
        dg.materialize([raw_analytics_events], partition_key=day, instance=instance, resources=resources)
    assert sorted(r.partition_key for r in tick(rollup_sensor, instance)[0]) == ["2026-02-03", "2026-02-04"]
    ingest_run(instance, "2026-02-03", dg.DagsterRunStatus.STARTED, last="2026-02-04")
    assert tick(rollup_sensor, instance)[0] == []
