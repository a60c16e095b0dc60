INSERT INTO raw.analytics_event_batches (
    received_date, batch_id, landing_path, lines, accepted, duplicates, dead_lettered,
    unresolved_org, max_received_at
) VALUES (
    %(received_date)s, %(batch_id)s, %(landing_path)s, %(lines)s, %(accepted)s, %(duplicates)s,
    %(dead_lettered)s, %(unresolved_org)s, %(max_received_at)s
)
