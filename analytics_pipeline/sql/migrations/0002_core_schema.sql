-- Learner progress and per-org insights, written by the Python rollup assets.
CREATE SCHEMA IF NOT EXISTS core;

-- Every column is merged with an idempotent operator (LEAST, GREATEST, OR), so applying
-- the same partition's events twice yields the same state.
CREATE TABLE core.user_lesson_progress (
    org_id text NOT NULL,
    user_token text NOT NULL,
    course_id text NOT NULL,
    lesson_id text NOT NULL,
    first_event_at timestamptz NOT NULL,
    last_event_at timestamptz NOT NULL,
    lesson_completed boolean NOT NULL,
    completed_at timestamptz,
    video_max_position_seconds numeric,
    video_duration_seconds numeric,
    video_completed boolean NOT NULL,
    quiz_best_score numeric,
    quiz_max_score numeric,
    quiz_passed boolean NOT NULL,
    last_received_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, user_token, course_id, lesson_id)
);

CREATE TABLE core.user_course_progress (
    org_id text NOT NULL,
    user_token text NOT NULL,
    course_id text NOT NULL,
    first_event_at timestamptz NOT NULL,
    last_event_at timestamptz NOT NULL,
    course_completed_event boolean NOT NULL,
    lessons_started integer NOT NULL,
    lessons_completed integer NOT NULL,
    lessons_total integer NOT NULL,
    completed boolean NOT NULL,
    last_received_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, user_token, course_id)
);

CREATE TABLE core.analytics_insights (
    org_id text PRIMARY KEY,
    org_name text,
    active_learners_7d integer NOT NULL,
    active_learners_30d integer NOT NULL,
    enrolled_learners integer NOT NULL,
    completed_learners integer NOT NULL,
    completion_rate numeric,
    top_dropoff_course_id text,
    top_dropoff_lesson_id text,
    top_dropoff_rate numeric,
    videos_played integer NOT NULL,
    videos_completed integer NOT NULL,
    video_completion_rate numeric,
    quizzes_submitted integer NOT NULL,
    quiz_pass_rate numeric,
    survey_responses integer NOT NULL,
    survey_avg_rating numeric,
    data_fresh_as_of timestamptz,
    summary text NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now()
);
