-- Learners the directory does not know yet, as their events' `user` object named them (the
-- snapshot, when there is one, stays the record). Erased learners' events never get here.
INSERT INTO raw.learner_directory (user_token, name_sealed, email_sealed, source)
SELECT u.user_token, u.name_sealed, u.email_sealed, 'event'
FROM unnest(%(tokens)s::text[], %(names)s::bytea[], %(emails)s::bytea[]) AS u (user_token, name_sealed, email_sealed)
ON CONFLICT (user_token) DO NOTHING
