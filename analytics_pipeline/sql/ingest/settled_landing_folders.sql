-- The landing folders settled (raw.settled_landing_folders), through the web gateway: the
-- health endpoint and the metrics read them too.
SELECT received_date, modified_ns FROM web.settled_landing_folders()
