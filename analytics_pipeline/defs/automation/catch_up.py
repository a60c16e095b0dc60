"""Partitions whose rollup is behind their ingestion: what the rollup catch-up schedule and
`analytics-pipeline run` both roll up again."""

import dagster as dg

from analytics_pipeline.defs.jobs import ROLLUP_ASSETS

RAW_EVENTS = dg.AssetKey("raw_analytics_events")


def latest_by_partition(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, int]:
    """{partition: storage id of its latest materialization of `key`}, in one query."""
    return dict(instance.event_log_storage.get_latest_storage_id_by_partition(
        key, dg.DagsterEventType.ASSET_MATERIALIZATION
    ))


def unfinished_rollups(instance: dg.DagsterInstance) -> set[str]:
    """Partitions ingested after one of their rollup assets last materialized: never rolled
    up, rolled up before late files arrived, or a run stopped between ingest and rollup."""
    ingested = latest_by_partition(instance, RAW_EVENTS)
    stale = set()
    for key in (key for asset in ROLLUP_ASSETS for key in asset.keys):
        rolled = latest_by_partition(instance, key)
        stale |= {partition for partition, at in ingested.items() if rolled.get(partition, -1) < at}
    return stale
