-- Daily activity per org by event time (occurred_at, UTC): a late event moves its own day.
-- Incremental by received date: a run for received days [min_received_date, max_received_date]
-- recomputes, whole, every (org, activity day) that those days' events touch. Without the
-- vars (a hand-run `dbt build`, `dbt docs generate`) the window is all days: slow, never wrong.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'activity_date'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with events as (
    select * from {{ ref('stg_analytics_events') }}
    where org_id is not null
        {% if is_incremental() %}
            and (org_id, activity_date) in (
                select distinct org_id, activity_date
                from {{ ref('stg_analytics_events') }}
                where org_id is not null and {{ received_in_window() }}
            )
        {% endif %}
)

select
    org_id,
    activity_date,
    count(distinct user_token) as active_learners,
    count(*) as events,
    count(*) filter (where event_type = 'video_played') as video_plays,
    count(*) filter (where event_type = 'video_completed') as videos_completed,
    count(*) filter (where event_type = 'lesson_completed') as lessons_completed,
    count(*) filter (where event_type = 'quiz_submitted') as quizzes_submitted,
    count(*) filter (
        where event_type = 'quiz_submitted' and (properties ->> 'passed')::boolean
    ) as quizzes_passed,
    count(*) filter (where event_type = 'course_completed') as courses_completed,
    max(received_at) as data_fresh_as_of
from events
group by org_id, activity_date
