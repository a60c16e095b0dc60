SELECT data_fresh_as_of, newest_received_at FROM web.marts_freshness()
