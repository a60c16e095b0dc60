"""Every dbt model as a Dagster asset; dbt tests as asset checks.

Incremental models are partitioned by received date and build only what a partition
touched; the others are rebuilt whole. Each kind has a pool of its own (one build at a time:
dbt runs of the same models collide on their temp relations), so a rollup need not wait for
a marts rebuild; and a backfill of many partitions is one dbt run over the whole window, not
one per day racing to create the table.
"""

from datetime import timedelta

import dagster as dg
from dagster_dbt import dbt_assets

from analytics_pipeline.defs.dbt.project import AnalyticsDbtResource, dbt_project
from analytics_pipeline.defs.dbt.translator import AnalyticsDbtTranslator
from analytics_pipeline.defs.partitions import daily_partitions

# The incremental models and what they read (the staging view over raw events): the first
# partition run must be able to build them before any unpartitioned build has run.
INCREMENTAL = "+config.materialized:incremental"
# dbt's unit tests check the metric definitions on hand-written rows; the test suite runs them
# (tests/test_dbt_unit_tests.py), a pipeline build has no use for them.
UNIT_TESTS = "test_type:unit"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=f"{INCREMENTAL} {UNIT_TESTS}",
    dagster_dbt_translator=AnalyticsDbtTranslator(),
    pool="dbt_marts",
)
def analytics_dbt_models(context: dg.AssetExecutionContext, dbt: AnalyticsDbtResource):
    yield from dbt.build(context)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=INCREMENTAL,
    exclude=UNIT_TESTS,
    name="analytics_dbt_incremental_models",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=AnalyticsDbtTranslator(),
    pool="dbt_incremental",
)
def analytics_dbt_incremental_models(context: dg.AssetExecutionContext, dbt: AnalyticsDbtResource):
    # The window goes in the environment, not in --vars: dbt keys its parse state on the
    # vars, so each partition's command would parse the whole project again.
    window = context.partition_time_window
    yield from dbt.build(
        context,
        env={
            "ANALYTICS_DBT_MIN_RECEIVED_DATE": window.start.date().isoformat(),
            "ANALYTICS_DBT_MAX_RECEIVED_DATE": (window.end - timedelta(days=1)).date().isoformat(),
        },
    )
