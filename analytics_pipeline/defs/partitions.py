"""Daily partitions by received date (UTC). end_offset=1 makes today's partition exist while
today's files are still landing, so they can be ingested before the day ends."""

import dagster as dg

daily_partitions = dg.DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC", end_offset=1)
