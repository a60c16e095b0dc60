"""Dagster definitions, split by domain: ingestion, rollups, dbt."""
