-- The learners snapshot's sealed rows, staged for the one transaction that loads them.
CREATE TEMPORARY TABLE learners_snapshot (
    user_token text PRIMARY KEY,
    name_sealed bytea,
    email_sealed bytea
) ON COMMIT DROP
