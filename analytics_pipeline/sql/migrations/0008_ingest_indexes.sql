-- Every accepted event paid for an index on (org_id, user_token, course_id), a wide random
-- key, that the rollups never use: they read whole received-date partitions and group them.
-- Its one reader was the search for events still without an org, which a partial index
-- serves for the cost of indexing those few events only.
DROP INDEX raw.analytics_events_learner;
CREATE INDEX analytics_events_unresolved ON raw.analytics_events (received_date) WHERE org_id IS NULL;
