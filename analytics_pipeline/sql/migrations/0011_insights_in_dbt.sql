-- The per-org figures are the dbt mart marts.org_insights; the pipeline keeps only their
-- plain-language text, in marts.org_summaries, downstream of the marts like everything else
-- a dashboard reads.
DROP TABLE core.analytics_insights;

CREATE TABLE marts.org_summaries (
    org_id text PRIMARY KEY,
    summary text NOT NULL,
    data_fresh_as_of timestamptz,
    computed_at timestamptz NOT NULL DEFAULT now()
);
SELECT access.apply_tenant_policy('marts.org_summaries');

-- Completion is decided once, by the marts (int_learner_course_status); these columns
-- repeated that rule or were never read.
ALTER TABLE core.user_course_progress
DROP COLUMN lessons_started,
DROP COLUMN lessons_completed,
DROP COLUMN lessons_total,
DROP COLUMN completed;
ALTER TABLE core.user_lesson_progress
DROP COLUMN completed_at,
DROP COLUMN video_duration_seconds,
DROP COLUMN quiz_best_score,
DROP COLUMN quiz_max_score;
