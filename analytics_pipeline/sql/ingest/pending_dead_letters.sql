SELECT received_date, batch_id, landing_path, array_agg(line_no ORDER BY line_no) AS line_nos
FROM raw.analytics_dead_letters
WHERE replayed_at IS NULL
    AND (%(reason)s::text IS NULL OR reason_code = %(reason)s::text)
    AND (%(since)s::date IS NULL OR received_date >= %(since)s::date)
GROUP BY received_date, batch_id, landing_path
ORDER BY received_date, batch_id
