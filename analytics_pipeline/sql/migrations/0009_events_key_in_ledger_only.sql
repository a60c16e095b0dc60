-- An event id is unique across all days because the event-id ledger's primary key says so, in
-- the same transaction as the event's insert. The events' own key, (received_date,
-- client_event_id), only repeated that guarantee for one day at a time, and every event paid
-- a random-page insert into it. The id-uniqueness asset check still watches the events themselves.
ALTER TABLE raw.analytics_events DROP CONSTRAINT analytics_events_pkey;
