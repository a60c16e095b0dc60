-- Replayed lines move from dead-lettered to accepted (or duplicate): the batch still adds up.
UPDATE raw.analytics_event_batches
SET
    accepted = accepted + %(accepted)s,
    duplicates = duplicates + %(duplicates)s,
    dead_lettered = dead_lettered - %(accepted)s - %(duplicates)s,
    unresolved_org = unresolved_org + %(unresolved_org)s
WHERE received_date = %(received_date)s AND batch_id = %(batch_id)s
