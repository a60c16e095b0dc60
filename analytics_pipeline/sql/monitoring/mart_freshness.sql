-- data_fresh_as_of: the newest receivedAt the marts reflect.
SELECT max(data_fresh_as_of) FROM marts.org_engagement_daily
