-- Survey free text (already scrubbed of e-mail addresses and learners' names at ingestion);
-- the table's policy shows it only to an org-admin grant.
SELECT t.client_event_id, t.course_id, t.received_date, t.free_text
FROM raw.survey_free_text AS t
WHERE t.org_id = %(org)s AND (%(course)s::text IS NULL OR t.course_id = %(course)s)
ORDER BY t.received_date DESC, t.client_event_id
LIMIT %(limit)s OFFSET %(offset)s
