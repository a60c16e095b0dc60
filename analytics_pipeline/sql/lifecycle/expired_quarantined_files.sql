-- Quarantined (unreadable) landing files set aside before the cutoff.
SELECT landing_path FROM raw.analytics_quarantined_files WHERE received_date < %(before)s
