INSERT INTO raw.analytics_quarantined_files (received_date, batch_id, landing_path, reason)
VALUES (%(received_date)s, %(batch_id)s, %(landing_path)s, %(reason)s)
