"""The asset keys of the Python assets, in one place; dbt models are keyed by their names
(defs/dbt/translator.py), and the marts' names from the dbt project's marts folder (marts.py)."""

import dagster as dg

from analytics_pipeline.ingestion.reference import REFERENCE_TABLES

REFERENCE_KEYS = {table.name: dg.AssetKey(f"lms_{table.name}") for table in REFERENCE_TABLES}
RAW_EVENTS_KEY = dg.AssetKey("raw_analytics_events")
BATCHES_KEY = dg.AssetKey("analytics_event_batches")
LESSON_PROGRESS_KEY = dg.AssetKey("user_lesson_progress")
COURSE_PROGRESS_KEY = dg.AssetKey("user_course_progress")
INSIGHTS_KEY = dg.AssetKey("org_insights")  # the dbt mart of per-org figures
SUMMARIES_KEY = dg.AssetKey("org_summaries")

# A marts run ends with the summaries: their materialization marks the marts as published.
PUBLISHED_KEY = SUMMARIES_KEY
# What the unpartitioned marts are built from: newer materializations of these mean the
# marts are behind.
MARTS_INPUT_KEYS = (COURSE_PROGRESS_KEY, *REFERENCE_KEYS.values())
