-- The one definition of data_fresh_as_of: the newest receivedAt the marts reflect. Every
-- time-based figure is computed at it, never at the wall clock.
select max(data_fresh_as_of) as data_fresh_as_of
from {{ ref('org_engagement_daily') }}
