"""Events → learner progress, per received-date partition."""

import dagster as dg

from analytics_pipeline.defs.keys import (
    COURSE_PROGRESS_KEY,
    LESSON_PROGRESS_KEY,
    RAW_EVENTS_KEY,
)
from analytics_pipeline.defs.partitions import daily_partitions
from analytics_pipeline.defs.resources import PostgresResource
from analytics_pipeline.rollups.progress import (
    merge_course_progress,
    merge_lesson_progress,
)


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
    deps=[RAW_EVENTS_KEY],
    group_name="rollups",
    description="core.user_course_progress: per learner and course, the course-level facts of its events.",
)
def user_course_progress(context: dg.AssetExecutionContext, database: PostgresResource):
    with database.connect() as conn:
        touched = merge_course_progress(conn, *context.partition_key_range)
    return dg.MaterializeResult(metadata={"rows_touched": touched})
