"""Dagster-orchestrated, dbt-on-PostgreSQL analytics for a multi-tenant learning platform."""
