"""The code location loads, and its asset graph is the one the design describes."""

import os
import subprocess
import sys

import dagster as dg
import pytest

from analytics_pipeline.marts import MARTS


@pytest.fixture(scope="module")
def defs():
    from analytics_pipeline.environment import ensure_dbt_manifest

    ensure_dbt_manifest()
    from analytics_pipeline.definitions import defs

    return defs


def test_asset_graph_snapshot(defs):
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {
        "lms_organizations",
        "lms_courses",
        "lms_lessons",
        "lms_enrollments",
        "raw_analytics_events",
        "analytics_event_batches",
        "user_lesson_progress",
        "user_course_progress",
        "org_insights",
        "org_summaries",
        "stg_analytics_events",
        "stg_organizations",
        "stg_courses",
        "stg_lessons",
        "stg_enrollments",
        "stg_user_lesson_progress",
        "stg_user_course_progress",
        "int_lesson_reach",
        "int_learner_course_status",
        "view_course_completion_rate",
        "view_lesson_dropoff",
        "org_engagement_daily",
        "survey_summary",
        "int_data_freshness",
        "int_learner_course_quizzes",
        "int_quiz_item_attempts",
        "int_video_watch_ranges",
        "int_learner_active_days",
        "int_session_spans",
        "int_session_days",
        "int_video_learner_segments",
        "int_video_players",
        "int_survey_ratings",
        "learners_at_risk",
        "video_engagement",
        "quiz_item_difficulty",
        "learner_time_on_task",
        "course_time_on_task_daily",
        "org_retention_weekly",
        "course_catalog",
        "lesson_catalog",
    }


def test_lineage_runs_from_landing_to_marts_to_insights(defs):
    graph = defs.resolve_asset_graph()
    upstream = graph.get(dg.AssetKey("org_insights")).parent_keys
    assert dg.AssetKey("view_lesson_dropoff") in upstream
    assert dg.AssetKey("org_insights") in graph.get(dg.AssetKey("org_summaries")).parent_keys
    stg = graph.get(dg.AssetKey("stg_analytics_events")).parent_keys
    assert stg == {dg.AssetKey("raw_analytics_events")}
    assert graph.get(dg.AssetKey("stg_user_lesson_progress")).parent_keys == {dg.AssetKey("user_lesson_progress")}


def test_every_mart_has_a_unique_key_and_a_contract_that_keeps_its_org(defs):
    """Its key is a dbt test (an asset check) on a rebuilt mart, a primary key on an incremental
    one, whose builds replace rows by that key: PostgreSQL holds it as rows go in, where a test
    would read the whole table after every partition's build."""
    import json

    from analytics_pipeline.defs.dbt.project import dbt_project

    checks = defs.resolve_asset_graph().asset_check_keys
    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"]
    for mart in MARTS:
        names = {c.name for c in checks if c.asset_key == dg.AssetKey(mart)}
        node = nodes[f"model.analytics_pipeline.{mart}"]
        if node["config"]["materialized"] == "incremental":
            keys = [c["columns"] for c in node["constraints"] if c["type"] == "primary_key"]
            assert keys == [node["config"]["unique_key"]], mart
        else:
            assert any(n.startswith("unique_combination") for n in names), mart
        assert node["contract"]["enforced"], mart
        assert "not_null" in [c["type"] for c in node["columns"]["org_id"]["constraints"]], mart


def test_definitions_load_without_any_configuration(defs):
    """No connection and no setting is read at import time: a bare environment loads them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
    code = (
        "from analytics_pipeline.definitions import defs; print(len(defs.resolve_asset_graph().get_all_asset_keys()))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(len(defs.resolve_asset_graph().get_all_asset_keys()))


def test_every_check_and_automation_declared_in_a_domain_module_is_loaded(defs):
    """The domains are collected, not listed: what a module under defs/ declares is in the location."""
    from analytics_pipeline.defs.automation import alert_sensors, schedules, sensors
    from analytics_pipeline.defs.checks import asset_checks
    from analytics_pipeline.defs.lifecycle import retention

    loaded_checks = defs.resolve_asset_graph().asset_check_keys
    for check in asset_checks.all_checks:
        assert set(check.check_keys) <= loaded_checks
    repository = defs.get_repository_def()
    declared_sensors = {
        s.name
        for module in (sensors, alert_sensors)
        for s in vars(module).values()
        if isinstance(s, dg.SensorDefinition)
    }
    assert declared_sensors == {s.name for s in repository.sensor_defs}
    declared_schedules = {
        s.name
        for module in (schedules, retention)
        for s in vars(module).values()
        if isinstance(s, dg.ScheduleDefinition)
    }
    assert declared_schedules == {s.name for s in repository.schedule_defs}
    assert "retention_schedule" in declared_schedules and repository.has_job("retention_job")
    assert set(defs.resources) == {"database", "landing", "pii", "dbt", "sla"}
