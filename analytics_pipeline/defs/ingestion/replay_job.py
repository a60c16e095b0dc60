"""The dead-letter replay job. It reports each raw partition it changed as a materialization
of raw_analytics_events, so the rollup sensor re-runs exactly those partitions downstream."""

from datetime import date

import dagster as dg

from analytics_pipeline.defs.keys import RAW_EVENTS_KEY
from analytics_pipeline.defs.resources import (
    LandingZoneResource,
    PiiResource,
    PostgresResource,
)
from analytics_pipeline.ingestion.dead_letter_replay import replay_dead_letters


class ReplayConfig(dg.Config):
    reason: str | None = None  # only dead letters with this reason code
    since: str | None = None  # only batches received on or after this date (YYYY-MM-DD)


@dg.op(out={}, description="Replay dead letters and re-resolve orgs against current reference data.")
def replay_dead_letters_op(
    context: dg.OpExecutionContext,
    config: ReplayConfig,
    database: PostgresResource,
    landing: LandingZoneResource,
    pii: PiiResource,
):
    since = date.fromisoformat(config.since) if config.since else None
    with database.connect() as conn:
        summary = replay_dead_letters(conn, landing.path, pii.tokenizer(), config.reason, since)
    context.log.info(
        f"replayed {summary.replayed} dead letters ({summary.accepted} accepted), {summary.still_dead} still "
        f"invalid, {summary.orgs_resolved} events given an org, files missing: {summary.missing_files}"
    )
    for partition in sorted(summary.partitions):
        yield dg.AssetMaterialization(
            asset_key=RAW_EVENTS_KEY,
            partition=partition,
            metadata={
                "cause": "dead-letter replay",
                "replayed": summary.replayed,
                "orgs_resolved": summary.orgs_resolved,
            },
        )


@dg.job(description="Replay dead-lettered lines that now pass; downstream partitions follow.")
def replay_dead_letters_job():
    replay_dead_letters_op()
