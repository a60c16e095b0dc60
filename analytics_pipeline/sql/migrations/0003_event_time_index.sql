-- Incremental marts recompute whole (org, activity day) groups: find their events by event
-- time without scanning every received-date partition.
CREATE INDEX analytics_events_org_occurred ON raw.analytics_events (org_id, occurred_at);
