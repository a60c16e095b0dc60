-- Learners the directory does not know yet, as their events' `user` object named them (the
-- snapshot, when there is one, stays the record). Erased learners' events never get here.
-- The learners come as one JSON array of [token, sealed name, sealed e-mail] (hex, or null):
-- psycopg would dump three arrays element by element in Python.
INSERT INTO raw.learner_directory (user_token, name_sealed, email_sealed, source)
SELECT
    u.learner ->> 0,
    decode(u.learner ->> 1, 'hex'),
    decode(u.learner ->> 2, 'hex'),
    'event'
FROM jsonb_array_elements(%(learners)s::jsonb) AS u (learner)
ON CONFLICT (user_token) DO NOTHING
