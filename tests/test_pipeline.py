"""End to end: `analytics-pipeline run` on a generated corpus, real PostgreSQL, real dbt,
real Dagster instance (dagster-postgres). Every mart figure is checked against pandas."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime

import dagster as dg
import pandas as pd
import psycopg
import pytest

from analytics_pipeline.defs.ingestion.assets import LEDGER_ROWS_SHOWN
from analytics_pipeline.defs.keys import BATCHES_KEY
from analytics_pipeline.demo.generator import generate
from analytics_pipeline.demo.population import FIRST_NAMES, LAST_NAMES
from analytics_pipeline.marts import MARTS
from tests.conftest import pipeline_environment, run_command
from tests.db_helpers import table_digests
from tests.expected_metrics import expected_marts, read_landing


@pytest.fixture(scope="module")
def pipeline(new_database, tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    home = tmp_path_factory.mktemp("home")
    generate(landing, orgs=3, learners=120, days=5, seed=11, end_date=date(2026, 3, 5))
    database_url, dagster_url = new_database(), new_database()
    with pipeline_environment(database_url, dagster_url, home):
        first = run_command("run", "--landing", str(landing))
        assert first.returncode == 0, first.stderr[-3000:]
        yield {
            "landing": landing,
            "url": database_url,
            "home": home,
            "stdout": first.stdout,
            "dagster_url": dagster_url,
        }


def query_df(url: str, sql: str) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        cur = conn.execute(sql)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def test_run_prints_what_it_produced(pipeline):
    out = pipeline["stdout"]
    assert "Ran 5 partition(s)" in out
    assert "view_course_completion_rate" in out and "Data fresh as of: 2026-03-05" in out


def test_completion_rates_match_an_independent_computation(pipeline):
    expected, _, _ = expected_marts(pipeline["landing"])
    actual = query_df(
        pipeline["url"],
        "SELECT org_id, course_id, enrolled_learners, completed_learners, completion_rate FROM marts.view_course_completion_rate",
    )
    merged = expected.merge(actual, on=["org_id", "course_id"], suffixes=("_exp", "_act"), how="outer", indicator=True)
    assert (merged._merge == "both").all(), merged[merged._merge != "both"]
    assert (merged.enrolled_learners_exp == merged.enrolled_learners_act).all()
    assert (merged.completed_learners_exp == merged.completed_learners_act).all()
    assert ((merged.completion_rate_exp - merged.completion_rate_act.astype(float)).abs() < 1e-6).all()
    assert merged.completed_learners_act.sum() > 0  # the corpus does exercise completion


def test_dropoff_matches_an_independent_computation(pipeline):
    _, expected, _ = expected_marts(pipeline["landing"])
    actual = query_df(
        pipeline["url"],
        "SELECT org_id, course_id, lesson_id, lesson_position, learners_started, learners_continued, dropoff_rate FROM marts.view_lesson_dropoff",
    )
    keys = ["org_id", "course_id", "lesson_id"]
    merged = expected.merge(actual, on=keys, suffixes=("_exp", "_act"), how="outer", indicator=True)
    assert (merged._merge == "both").all()
    assert (merged.lesson_position_exp == merged.lesson_position_act).all()
    assert (merged.learners_started_exp == merged.learners_started_act).all()
    assert (merged.learners_continued_exp == merged.learners_continued_act).all()
    both = merged.dropna(subset=["dropoff_rate_exp"])
    assert merged.dropoff_rate_act.isna().sum() == merged.dropoff_rate_exp.isna().sum()
    assert ((both.dropoff_rate_exp - both.dropoff_rate_act.astype(float)).abs() < 1e-6).all()
    assert (both.dropoff_rate_exp > 0).any()


def test_every_line_is_accounted_for(pipeline):
    unique, invalid, duplicates = read_landing(pipeline["landing"])
    _, _, unresolved = expected_marts(pipeline["landing"])
    with psycopg.connect(pipeline["url"]) as conn:
        totals = conn.execute(
            "SELECT sum(lines), sum(accepted), sum(duplicates), sum(dead_lettered), sum(unresolved_org) "
            "FROM raw.analytics_event_batches"
        ).fetchone()
        per_batch = conn.execute(
            "SELECT b.landing_path, b.lines, b.accepted, b.dead_lettered,"
            " (SELECT count(*) FROM raw.analytics_events e WHERE e.received_date = b.received_date AND e.batch_id = b.batch_id),"
            " (SELECT count(*) FROM raw.analytics_dead_letters d WHERE d.received_date = b.received_date AND d.batch_id = b.batch_id)"
            " FROM raw.analytics_event_batches b"
        ).fetchall()
    assert totals == (len(unique) + invalid + duplicates, len(unique), duplicates, invalid, unresolved)
    assert duplicates > 0 and invalid > 0 and unresolved > 0
    landed = list((pipeline["landing"] / "events").glob("*/*.ndjson*"))
    assert len(per_batch) == len(landed)
    for path, _lines, accepted, dead, events_rows, dead_rows in per_batch:
        assert (accepted, dead) == (events_rows, dead_rows), path


def test_no_clear_personal_data_anywhere_in_the_database(pipeline):
    names = "|".join(FIRST_NAMES + LAST_NAMES)
    with psycopg.connect(pipeline["url"]) as conn:
        columns = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema IN ('raw', 'core', 'marts', 'staging', 'intermediate') "
            "AND data_type IN ('text', 'character varying', 'jsonb', 'json')"
        ).fetchall()
        assert len(columns) > 20
        leaks = []
        for schema, table, column in columns:
            hits = conn.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text ~* %s OR "{column}"::text ~ %s',
                (rf"\m({names})\M", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}"),
            ).fetchone()[0]
            if hits:
                leaks.append((schema, table, column, hits))
        assert leaks == []
        # The survey free text did carry names and e-mails: they were scrubbed, not lost.
        assert (
            conn.execute("SELECT count(*) FROM raw.survey_free_text WHERE free_text LIKE '%[email:%'").fetchone()[0] > 0
        )


def test_rerun_with_nothing_new_changes_nothing(pipeline):
    before = table_digests(pipeline["url"])
    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        again = run_command("run", "--landing", str(pipeline["landing"]))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing new landed" in again.stdout
    assert table_digests(pipeline["url"]) == before


def test_the_daemon_finds_nothing_to_do_after_a_run(pipeline):
    """`make dev` right after `make demo`: the sensors and catch-ups follow the same rules as
    `run`, so none of them requests an ingest, rollup or marts run."""
    from analytics_pipeline.environment import bootstrap

    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        bootstrap(pipeline["landing"])
        from analytics_pipeline.definitions import defs
        from analytics_pipeline.defs.resources import shared_resources

        with dg.DagsterInstance.get() as instance:
            for sensor in ("landing_sensor", "rollup_sensor", "marts_sensor"):
                with dg.build_sensor_context(instance=instance, resources=shared_resources()) as context:
                    result = defs.resolve_sensor_def(sensor)(context)
                assert not result.run_requests, (sensor, result.run_requests)
            for schedule in ("ingest_catch_up_schedule", "rollup_catch_up_schedule"):
                with dg.build_schedule_context(
                    instance=instance, resources=shared_resources(), scheduled_execution_time=datetime(2026, 3, 6)
                ) as context:
                    assert isinstance(defs.resolve_schedule_def(schedule)(context), dg.SkipReason), schedule


def test_dagster_recorded_every_asset_and_passing_dbt_checks(pipeline):
    """One ingest run over the 5 partitions that also rolls them up, incremental marts
    included (one dbt invocation), and 1 full marts build; every dbt test ran and passed."""
    from analytics_pipeline.environment import bootstrap

    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        bootstrap(pipeline["landing"])
        from analytics_pipeline.definitions import defs

        graph = defs.resolve_asset_graph()
        with dg.DagsterInstance.get() as instance:
            assert "Postgres" in type(instance.run_storage).__name__
            for key in graph.get_all_asset_keys():
                assert instance.get_latest_materialization_event(key) is not None, key
            assert instance.get_run_records(dg.RunsFilter(job_name="rollup_partition_job")) == []
            runs = instance.get_run_records(dg.RunsFilter(job_name="marts_job")) + instance.get_run_records(
                dg.RunsFilter(job_name="ingest_partition_job")
            )
            assert len(runs) == 2 and all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs)
            evaluations = [
                e.dagster_event.event_specific_data
                for r in runs
                for e in instance.all_logs(r.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
            ]
            assert all(e.passed for e in evaluations)
            evaluated = {e.asset_check_key for e in evaluations}
            # The project's own checks end in _check; the rest are the dbt tests.
            dbt_checks = {k for k in graph.asset_check_keys if not k.name.endswith("_check")}
            assert dbt_checks and dbt_checks <= evaluated
            # The batch ledger in the event log: the first batches, and where the rest are.
            ledger = instance.get_latest_materialization_event(BATCHES_KEY).asset_materialization.metadata
            with psycopg.connect(pipeline["url"]) as conn:
                batches = conn.execute("SELECT count(*) FROM raw.analytics_event_batches").fetchone()[0]
            assert ledger["batches"].value == batches > LEDGER_ROWS_SHOWN
            rows = [line for line in ledger["ledger"].value.splitlines() if line.startswith("| ")]
            assert len(rows) == 2 + LEDGER_ROWS_SHOWN  # the header, its rule, the batches
            assert (
                f"{batches - LEDGER_ROWS_SHOWN} more batches in raw.analytics_event_batches" in ledger["ledger"].value
            )


def test_rematerializing_a_partition_or_backfilling_a_range_gives_identical_tables(pipeline):
    from analytics_pipeline.environment import bootstrap

    before = table_digests(pipeline["url"])
    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        bootstrap(pipeline["landing"])
        from analytics_pipeline.definitions import defs
        from analytics_pipeline.defs.automation.schedules import (
            rollup_catch_up_schedule,
        )
        from analytics_pipeline.defs.ingestion.assets import raw_analytics_events
        from analytics_pipeline.defs.resources import shared_resources
        from analytics_pipeline.defs.rollups.assets import (
            user_course_progress,
            user_lesson_progress,
        )
        from analytics_pipeline.in_process_run import local_instance

        with local_instance() as instance:
            result = dg.materialize(
                [raw_analytics_events, user_lesson_progress, user_course_progress],
                partition_key="2026-03-03",
                resources=shared_resources(),
                instance=instance,
            )
            assert result.success
            # Ingested again after its incremental mart last ran: the catch-up rolls it up
            # (learner progress alone being newer than the ingest is not enough).
            with dg.build_schedule_context(
                instance=instance, scheduled_execution_time=datetime(2026, 3, 6)
            ) as catch_up:
                assert [r.partition_key for r in rollup_catch_up_schedule(catch_up)] == ["2026-03-03"]
            # A backfill of the whole range as one run (single-run backfill policy): the
            # incremental mart gets the range's window in its environment.
            backfill = defs.resolve_job_def("rollup_partition_job").execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": "2026-03-01",
                    "dagster/asset_partition_range_end": "2026-03-05",
                },
            )
            assert backfill.success
            windows = {
                m.partition for m in backfill.asset_materializations_for_node("analytics_dbt_incremental_models")
            }
            assert windows == {f"2026-03-0{day}" for day in range(1, 6)}
            assert defs.resolve_job_def("marts_job").execute_in_process(instance=instance).success
            assert isinstance(rollup_catch_up_schedule(catch_up), dg.SkipReason)
    assert table_digests(pipeline["url"]) == before


def test_incremental_mart_equals_a_full_rebuild(pipeline):
    """org_engagement_daily, built incrementally (late events included), equals a
    --full-refresh from all events. Emptied, each of its two incremental reads brings back
    exactly the (org, day) rows its window's events touch: a partition's, through the index,
    and a wide window's, in one pass."""
    from analytics_pipeline.defs.dbt.project import dbt_project, dbt_resource

    mart = "SELECT * FROM marts.org_engagement_daily ORDER BY org_id, activity_date"
    full = query_df(pipeline["url"], mart)
    window = ("ANALYTICS_DBT_MIN_RECEIVED_DATE", "ANALYTICS_DBT_MAX_RECEIVED_DATE")
    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        from analytics_pipeline.environment import bootstrap

        bootstrap(pipeline["landing"])

        def build(*args: str, days: tuple[str, str]) -> None:
            invocation = dbt_resource(pipeline["url"]).cli(
                ["run", "--select", "org_engagement_daily", *args],
                env=dict(zip(window, days, strict=True)),
                target_path=dbt_project.target_path,
            )
            assert invocation.wait().is_successful()

        build("--full-refresh", days=("2026-03-01", "2026-03-05"))
        pd.testing.assert_frame_equal(query_df(pipeline["url"], mart), full)
        for days in (("2026-03-04", "2026-03-04"), ("2026-03-01", "2026-03-05")):
            touched = query_df(
                pipeline["url"],
                "SELECT DISTINCT org_id, (occurred_at AT TIME ZONE 'UTC')::date AS activity_date"
                f" FROM raw.analytics_events WHERE org_id IS NOT NULL AND received_date BETWEEN '{days[0]}' AND '{days[1]}'",
            )
            with psycopg.connect(pipeline["url"], autocommit=True) as conn:
                conn.execute("DELETE FROM marts.org_engagement_daily")
            build(days=days)
            expected = full.merge(touched, on=["org_id", "activity_date"]).sort_values(["org_id", "activity_date"])
            assert 0 < len(expected) <= len(full)
            pd.testing.assert_frame_equal(query_df(pipeline["url"], mart), expected.reset_index(drop=True))
        assert len(expected) == len(full)  # the wide window touched every day


def views(url: str) -> dict[str, int]:
    """{schema.view: its oid} of every view dbt built."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT n.nspname || '.' || c.relname, c.oid::int FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'v' AND n.nspname IN ('staging', 'intermediate')"
        ).fetchall()
    return dict(rows)


def test_a_partition_build_keeps_the_views_built_on_the_views_it_replaces(pipeline):
    """A partition's dbt build replaces the staging views its incremental models read. The
    views built on them, which only the marts build rebuilds, stay as they were: a marts build
    running meanwhile still finds them. A view whose columns changed shape is still replaced."""
    from analytics_pipeline.defs.dbt.assets import INCREMENTAL
    from analytics_pipeline.defs.dbt.project import dbt_project, dbt_resource

    def build(*args: str) -> None:
        invocation = dbt_resource(pipeline["url"]).cli(list(args), target_path=dbt_project.target_path)
        assert invocation.wait().is_successful()

    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        from analytics_pipeline.environment import bootstrap

        bootstrap(pipeline["landing"])
        # A full refresh of a table drops the views on it too (the test before this one).
        build("run", "--select", "config.materialized:view")
        before = views(pipeline["url"])
        assert {"staging.stg_lessons", "intermediate.int_learner_course_status"} <= before.keys()
        build("run", "--select", INCREMENTAL)
        assert views(pipeline["url"]) == before
        with psycopg.connect(pipeline["url"]) as conn:
            conn.execute("ALTER VIEW staging.stg_lessons RENAME COLUMN lesson_id TO former_lesson_id")
        build("run", "--select", INCREMENTAL)
        with psycopg.connect(pipeline["url"]) as conn:
            columns = conn.execute(
                "SELECT array_agg(attname::text) FROM pg_attribute WHERE attrelid = 'staging.stg_lessons'::regclass"
            ).fetchone()[0]
        assert "lesson_id" in columns and "former_lesson_id" not in columns
        build("run", "--select", "config.materialized:view")  # the dependents dropped with it
        assert views(pipeline["url"]).keys() == before.keys()


def test_a_build_that_would_leave_a_null_the_contract_forbids_fails_and_keeps_the_mart(pipeline, tmp_path):
    """An upstream that breaks its promise (an enrollment without an org) makes the mart's
    build fail on PostgreSQL's NOT NULL, and the published mart keeps the rows it had."""
    from analytics_pipeline.defs.dbt.project import dbt_resource

    mart = "marts.view_course_completion_rate"
    before = table_digests(pipeline["url"])
    with psycopg.connect(pipeline["url"], autocommit=True) as conn:
        definition = conn.execute("SELECT pg_get_viewdef('staging.stg_enrollments'::regclass)").fetchone()[0]
        not_null = conn.execute(
            "SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND attnotnull",
            (mart,),
        ).fetchone()[0]
        assert not_null == ["org_id", "course_id", "enrolled_learners", "completed_learners"]
        conn.execute(
            "CREATE OR REPLACE VIEW staging.stg_enrollments AS "
            + definition.rstrip().rstrip(";")
            + " UNION ALL SELECT NULL::text, 'learner'::text, course_id, NULL::timestamptz, NULL::timestamptz"
            " FROM raw.courses"
        )
        try:
            with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
                invocation = dbt_resource(pipeline["url"]).cli(
                    ["build", "--select", "view_course_completion_rate"], target_path=tmp_path, raise_on_error=False
                )
                assert not invocation.wait().is_successful()
            assert 'null value in column "org_id"' in (tmp_path / "dbt.log").read_text()
            assert table_digests(pipeline["url"]) == before
        finally:
            conn.execute(f"CREATE OR REPLACE VIEW staging.stg_enrollments AS {definition}")


def test_every_incremental_model_is_keyed_in_postgresql_by_the_key_its_builds_replace_rows_by(pipeline):
    """All but the watched ranges, several to a session, the key their builds replace them by."""
    from analytics_pipeline.defs.dbt.project import dbt_project

    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
    incremental = [n for n in nodes if n["resource_type"] == "model" and n["config"]["materialized"] == "incremental"]
    keyed = [n for n in incremental if n["name"] != "int_video_watch_ranges"]
    assert len(keyed) == len(incremental) - 1 >= 9
    with psycopg.connect(pipeline["url"]) as conn:
        for node in keyed:
            key = conn.execute(
                "SELECT array_agg(a.attname::text ORDER BY k.position) FROM pg_constraint AS c"
                " CROSS JOIN unnest(c.conkey) WITH ORDINALITY AS k (attnum, position)"
                " JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = k.attnum"
                " WHERE c.contype = 'p' AND c.conrelid = %s::regclass",
                (f"{node['schema']}.{node['name']}",),
            ).fetchone()[0]
            assert key == node["config"]["unique_key"], node["name"]


def test_dbt_builds_leave_no_folder_and_hand_on_their_parse_state(pipeline, tmp_path):
    """dagster-dbt gives each dbt command a target folder of its own: the run's builds
    removed theirs, and a later command in this database, a partition's window in its
    environment, starts from their parse state instead of parsing the project again."""
    from analytics_pipeline.defs.dbt.project import PARSE_STATE, dbt_resource, parse_state

    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        from analytics_pipeline.environment import bootstrap

        bootstrap(pipeline["landing"])
        with dg.DagsterInstance.get() as instance:
            run_ids = {record.dagster_run.run_id[:7] for record in instance.get_run_records()}
    leftovers = [p.name for p in PARSE_STATE.parent.glob("analytics_dbt_*") if p.name.split("-")[1] in run_ids]
    assert run_ids and leftovers == []

    window = {"ANALYTICS_DBT_MIN_RECEIVED_DATE": "2026-03-02", "ANALYTICS_DBT_MAX_RECEIVED_DATE": "2026-03-02"}
    target = tmp_path / "target"
    target.mkdir()
    shutil.copyfile(parse_state(pipeline["url"]), target / PARSE_STATE.name)  # as a command's folder is seeded
    invocation = dbt_resource(pipeline["url"]).cli(
        ["ls", "--select", "org_engagement_daily"], env=window, target_path=target
    )
    assert invocation.wait().is_successful()
    log = (target / "dbt.log").read_text()
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed" in log
    assert "Unable to do partial parsing" not in log


def test_a_commit_dagster_never_recorded_is_found_from_the_ledger(pipeline):
    """What `run` rolls up after a kill between ingestion's commit and its materialization."""
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.in_process_run import unrecorded_ingests

    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        bootstrap(pipeline["landing"])
        with dg.DagsterInstance.get() as instance, psycopg.connect(pipeline["url"]) as conn:
            assert unrecorded_ingests(conn, instance) == set()
            # A file of 2026-03-02 committed after the last recorded ingestion (rolled back after).
            conn.execute(
                "UPDATE raw.analytics_event_batches SET ingested_at = now() + interval '1 minute'"
                " WHERE received_date = '2026-03-02'"
            )
            assert unrecorded_ingests(conn, instance) == {"2026-03-02"}
            conn.rollback()


def test_status_reports_lag_freshness_and_check_results(pipeline):
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.monitoring.status import format_status, status_report

    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        env = bootstrap(pipeline["landing"])
        from analytics_pipeline.definitions import defs

        with dg.DagsterInstance.get() as instance:
            report = status_report(env.database_url, env.landing, instance, defs)
    assert report["ingest_lag"].pending_files == 0
    assert report["freshness"].data_fresh_as_of.date() == date(2026, 3, 5)
    assert not report["freshness"].behind
    results = {c["check"]: c["result"] for c in report["checks"]["view_lesson_dropoff"]}
    assert results and set(results.values()) == {"passed"}
    assert "Ingest lag: 0 s" in format_status(report)


def test_report_and_ui_charts_show_the_marts_figures(pipeline, tmp_path):
    expected, _, _ = expected_marts(pipeline["landing"])
    org = sorted(expected.org_id)[0]
    out = tmp_path / "report.html"
    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        done = run_command("report", "--org", org, "--out", str(out))
        missing = run_command("report", "--org", "no_such_org", "--out", str(tmp_path / "none.html"))
    assert done.returncode == 0, done.stderr[-2000:]
    page = out.read_text()
    assert "<script" not in page and "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for row in expected[expected.org_id == org].itertuples():
        # Each course's completion, as the bar's label: completed/enrolled.
        assert f"({row.completed_learners}/{row.enrolled_learners})" in page
    assert page.count("Drop-off funnel") == expected[expected.org_id == org].course_id.nunique()
    assert missing.returncode == 2 and missing.stderr.strip() == "error: no mart rows for org 'no_such_org'"

    from analytics_pipeline.environment import bootstrap

    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        bootstrap(pipeline["landing"])
        with dg.DagsterInstance.get() as instance:
            metadata = instance.get_latest_materialization_event(
                dg.AssetKey("org_summaries")
            ).asset_materialization.metadata
    chart = metadata[f"charts_{org}"].value
    assert f"### {org}: course completion" in chart and "█" in chart
    assert {f"charts_{o}" for o in expected.org_id} <= set(metadata)

    # Each funnel step's bar: its starters as a share of the first lesson's.
    from analytics_pipeline.reports.charts import org_charts

    with psycopg.connect(pipeline["url"]) as conn:
        funnels = org_charts(conn, org).funnels
    for steps in funnels.values():
        first = steps[0]["learners_started"]
        assert [s["reach"] for s in steps] == [s["learners_started"] / first for s in steps]
        assert f"| 1 | `{'█' * 20}` | 100% | {first} |" in chart


def test_dbt_docs_generate_documents_every_model_and_column(pipeline, tmp_path):
    with pipeline_environment(pipeline["url"], pipeline["dagster_url"], pipeline["home"]):
        done = run_command("docs", "--out", str(tmp_path / "docs"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    catalog = json.loads((tmp_path / "docs" / "catalog.json").read_text())
    manifest = json.loads((tmp_path / "docs" / "manifest.json").read_text())
    assert (tmp_path / "docs" / "index.html").exists()
    for mart in MARTS:
        assert f"model.analytics_pipeline.{mart}" in catalog["nodes"], mart
    models = {key: node for key, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    assert len(models) > len(MARTS)
    for key, node in models.items():
        assert node["description"], key  # documented in schema.yml
        built = {column.lower() for column in catalog["nodes"][key]["columns"]}
        documented = {name for name, column in node["columns"].items() if column["description"]}
        assert built and built == documented, (key, built ^ documented)
