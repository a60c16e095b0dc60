-- The settled folders become exactly those given: a folder no longer settled (files landed
-- in it since) or gone (retention removes a day's folder) keeps no row.
WITH unsettled AS (
    DELETE FROM raw.settled_landing_folders
    WHERE received_date <> ALL(%(days)s::date[])
)

INSERT INTO raw.settled_landing_folders (received_date, modified_ns)
SELECT f.received_date, f.modified_ns
FROM unnest(%(days)s::date[], %(stamps)s::bigint[]) AS f (received_date, modified_ns)
ON CONFLICT (received_date) DO UPDATE SET modified_ns = excluded.modified_ns
