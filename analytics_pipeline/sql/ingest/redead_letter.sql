-- A dead letter that still fails, with the reason it fails for now.
UPDATE raw.analytics_dead_letters
SET reason_code = %(reason_code)s, reason = %(reason)s, excerpt = %(excerpt)s
WHERE received_date = %(received_date)s AND batch_id = %(batch_id)s AND line_no = %(line_no)s
