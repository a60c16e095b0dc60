-- The learner directory: each learner's name and e-mail as the LMS knows them (its learners
-- snapshot, or the `user` object of its events), sealed by the Python that writes and reads
-- them (AES-256-GCM under ANALYTICS_DIRECTORY_KEY, which the database never holds): a dump
-- or a backup holds no clear value. Keyed by the learner's token; no role but the owner reads
-- it, and org admins reach it only through access.read_learner_directory.
CREATE TABLE raw.learner_directory (
    user_token text PRIMARY KEY,
    name_sealed bytea,
    email_sealed bytea,
    source text NOT NULL CHECK (source IN ('snapshot', 'event')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every read of the directory: who, for which org, how many learners, when; never the values.
CREATE TABLE access.learner_directory_reads (
    read_id bigserial PRIMARY KEY,
    role_name text NOT NULL,
    org_id text NOT NULL,
    learners integer NOT NULL,
    read_at timestamptz NOT NULL DEFAULT now()
);
