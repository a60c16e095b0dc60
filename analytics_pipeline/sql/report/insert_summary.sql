INSERT INTO marts.org_summaries (org_id, summary, data_fresh_as_of)
VALUES (%(org_id)s, %(summary)s, %(data_fresh_as_of)s)
