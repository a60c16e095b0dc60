"""Landing zone → raw schema."""

import dagster as dg

from analytics_pipeline.defs.keys import BATCHES_KEY, RAW_EVENTS_KEY, REFERENCE_KEYS
from analytics_pipeline.defs.partitions import daily_partitions
from analytics_pipeline.defs.resources import (
    LandingZoneResource,
    PiiResource,
    PostgresResource,
)
from analytics_pipeline.ingestion.partition import ingest_partition
from analytics_pipeline.ingestion.reference import load_reference

LEDGER_ROWS_SHOWN = 100


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            group_name="reference",
            description=f"raw.{name}: the LMS {name} snapshot, replaced whole when it changes.",
        )
        for name, key in REFERENCE_KEYS.items()
    ],
)
def lms_reference_snapshots(database: PostgresResource, landing: LandingZoneResource, pii: PiiResource):
    with database.connect() as conn:
        reloaded = load_reference(conn, landing.path, pii.tokenizer())
    for name, key in REFERENCE_KEYS.items():
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={"reloaded": name in reloaded, "rows": reloaded.get(name, -1)},
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RAW_EVENTS_KEY,
            group_name="ingestion",
            deps=[REFERENCE_KEYS["enrollments"]],
            description=(
                "raw.analytics_events: validated, deduplicated events with tokenized learner ids "
                "and resolved orgs; invalid lines go to raw.analytics_dead_letters."
            ),
        ),
        dg.AssetSpec(
            BATCHES_KEY,
            group_name="ingestion",
            description=(
                "raw.analytics_event_batches and raw.analytics_event_ids: the batch ledger "
                "(lines = accepted + duplicates + dead-lettered) and the event-id ledger."
            ),
        ),
    ],
    partitions_def=daily_partitions,
    # A backfill or catch-up of many days is one run, rolled up once (defs/jobs.py).
    backfill_policy=dg.BackfillPolicy.single_run(),
    # A lost database connection fails the batch transaction cleanly; a retry resumes.
    retry_policy=dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL),
)
def raw_analytics_events(
    context: dg.AssetExecutionContext,
    database: PostgresResource,
    landing: LandingZoneResource,
    pii: PiiResource,
):
    tokenizer = pii.tokenizer()
    with database.connect() as conn:
        results = [r for key in context.partition_keys for r in ingest_partition(conn, landing.path, key, tokenizer)]
    totals = {
        field: sum(getattr(r, field) for r in results)
        for field in ("lines", "accepted", "duplicates", "dead_lettered", "unresolved_org")
    }
    # The event log keeps a run's first batches; a backfill's tens of thousands would make a
    # megabyte-sized event (raw.analytics_event_batches has them all).
    shown, hidden = results[:LEDGER_ROWS_SHOWN], len(results[LEDGER_ROWS_SHOWN:])
    table = "\n".join(
        ["| batch | lines | accepted | duplicates | dead-lettered |", "| --- | ---: | ---: | ---: | ---: |"]
        + [f"| {r.batch_id} | {r.lines} | {r.accepted} | {r.duplicates} | {r.dead_lettered} |" for r in shown]
        + ([f"\n{hidden} more batches in raw.analytics_event_batches."] if hidden else [])
    )
    quarantined = [r for r in results if r.quarantined]
    yield dg.MaterializeResult(
        asset_key=RAW_EVENTS_KEY,
        metadata={
            **totals,
            "batches": len(results) - len(quarantined),
            "quarantined_files": dg.MetadataValue.json({r.batch_id: r.quarantined for r in quarantined}),
        },
    )
    yield dg.MaterializeResult(
        asset_key=BATCHES_KEY,
        metadata={"batches": len(results), "lines": totals["lines"], "ledger": dg.MetadataValue.md(table)},
    )
