"""Every dbt model as a Dagster asset; dbt tests as asset checks."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from analytics_pipeline.defs.dbt.project import dbt_project
from analytics_pipeline.defs.dbt.translator import AnalyticsDbtTranslator
from analytics_pipeline.defs.resources import PostgresResource


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=AnalyticsDbtTranslator(),
    # One dbt invocation per run: dbt runs never race each other on the same models.
    pool="dbt",
)
def analytics_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, database: PostgresResource
):
    database.export_dbt_env()
    yield from dbt.cli(["build"], context=context).stream()

