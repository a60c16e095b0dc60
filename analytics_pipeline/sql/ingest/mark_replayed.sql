-- A batch's dead letters that now pass, marked replayed.
UPDATE raw.analytics_dead_letters SET replayed_at = now()
WHERE received_date = %(received_date)s AND batch_id = %(batch_id)s AND line_no = ANY(%(line_nos)s)
