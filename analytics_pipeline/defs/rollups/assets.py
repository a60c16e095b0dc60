"""Events → learner progress (per partition) and per-org insights (after the marts)."""

import dagster as dg

from analytics_pipeline.defs.keys import (
    COURSE_PROGRESS_KEY,
    INSIGHTS_KEY,
    LESSON_PROGRESS_KEY,
    RAW_EVENTS_KEY,
    REFERENCE_KEYS,
)
from analytics_pipeline.defs.partitions import daily_partitions
from analytics_pipeline.defs.resources import PostgresResource
from analytics_pipeline.marts import MARTS
from analytics_pipeline.reports.charts import markdown, org_charts
from analytics_pipeline.rollups.insights import refresh_insights
from analytics_pipeline.rollups.progress import (
    merge_course_progress,
    merge_lesson_progress,
)

MART_KEYS = [dg.AssetKey(name) for name in MARTS]
# Charts are per-org metadata entries; past this many orgs, `analytics-pipeline report` serves.
MAX_CHARTED_ORGS = 25


# A backfill of many days is one run over the whole range, as for the incremental dbt models
# in the same job (assets in one job must share a backfill policy).
@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    key=LESSON_PROGRESS_KEY,
    deps=[RAW_EVENTS_KEY],
    group_name="rollups",
    description="core.user_lesson_progress: per learner and lesson, merged idempotently.",
)
def user_lesson_progress(context: dg.AssetExecutionContext, database: PostgresResource):
    with database.connect() as conn:
        touched = merge_lesson_progress(conn, *context.partition_key_range)
    return dg.MaterializeResult(metadata={"rows_touched": touched})


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    key=COURSE_PROGRESS_KEY,
    deps=[LESSON_PROGRESS_KEY, REFERENCE_KEYS["lessons"]],
    group_name="rollups",
    description="core.user_course_progress: per learner and course, lesson counts re-derived.",
)
def user_course_progress(context: dg.AssetExecutionContext, database: PostgresResource):
    with database.connect() as conn:
        touched = merge_course_progress(conn, *context.partition_key_range)
    return dg.MaterializeResult(metadata={"rows_touched": touched})


@dg.asset(
    key=INSIGHTS_KEY,
    deps=MART_KEYS,
    group_name="insights",
    description="core.analytics_insights: one row per org that dashboards load instantly.",
)
def analytics_insights(database: PostgresResource):
    with database.connect() as conn:
        insights = refresh_insights(conn)
        charts = {i["org_id"]: markdown(org_charts(conn, i["org_id"])) for i in insights[:MAX_CHARTED_ORGS]}
    table = "\n".join(
        ["| org | active 7d | completion | summary |", "| --- | ---: | ---: | --- |"]
        + [f"| {i['org_id']} | {i['active_learners_7d']} | {i['completion_rate']} | {i['summary']} |" for i in insights]
    )
    fresh = max((i["data_fresh_as_of"] for i in insights if i["data_fresh_as_of"]), default=None)
    return dg.MaterializeResult(
        metadata={
            "orgs": len(insights),
            "data_fresh_as_of": fresh.isoformat() if fresh else "no data",
            "insights": dg.MetadataValue.md(table),
            **{f"charts_{org}": dg.MetadataValue.md(chart) for org, chart in charts.items()},
        }
    )
