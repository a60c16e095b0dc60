-- Daily activity per org by event time (occurred_at, UTC): a late event moves its own day.
-- Incremental by received date: a run for a window of received days (received_in_window)
-- recomputes, whole, every (org, activity day) that those days' events touch. Without a
-- window (a hand-run `dbt build`, `dbt docs generate`) it is all days: slow, never wrong.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'activity_date'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

{#- A partition's window (up to 3 received days) touches a few recent days: each touched
    (org, day) is read back by its range of occurred_at, one scan of the events' index on
    (org_id, occurred_at) in each received date's partition, where a filter on activity_date,
    an expression, reads every event ever received. A wider window (a backfill) touches most days:
    then one pass over the events beats fetching most of them an index entry at a time. -#}
{% set by_index = is_incremental() and received_window_days() <= 3 %}

with
{% if is_incremental() %}
    touched as (
        select distinct org_id, activity_date
        from {{ ref('stg_analytics_events') }}
        where org_id is not null and {{ received_in_window() }}
    ),
{% endif %}

events as (
    {% if by_index %}
        select e.*
        from touched as t
        -- OFFSET 0 keeps the planner from flattening this into a join over every event.
        cross join lateral (
            select x.*
            from {{ ref('stg_analytics_events') }} as x
            where
                x.org_id = t.org_id
                and x.occurred_at >= t.activity_date::timestamp at time zone 'UTC'
                and x.occurred_at < (t.activity_date + 1)::timestamp at time zone 'UTC'
            offset 0  -- noqa: AM09
        ) as e
    {% elif is_incremental() %}
        select e.*
        from {{ ref('stg_analytics_events') }} as e
        where e.org_id is not null and (e.org_id, e.activity_date) in (select * from touched)
    {% else %}
        select e.*
        from {{ ref('stg_analytics_events') }} as e
        where e.org_id is not null
    {% endif %}
),

-- Per learner first: their counts add up per day, and counting learners needs no sort of
-- the day's events (as count(distinct user_token) would).
per_learner as (
    select
        org_id,
        activity_date,
        user_token,
        -- A grade of an attempt (`gradeOf`) is the grader's act: it says whether the attempt
        -- passed, and is neither the learner's event nor a submission of its own.
        count(*) filter (where properties ->> 'gradeOf' is null) as events,
        count(*) filter (where event_type = 'video_played') as video_plays,
        count(*) filter (where event_type = 'video_completed') as videos_completed,
        count(*) filter (where event_type = 'lesson_completed') as lessons_completed,
        count(*) filter (
            where event_type = 'quiz_submitted' and properties ->> 'gradeOf' is null
        ) as quizzes_submitted,
        count(*) filter (
            where event_type = 'quiz_submitted' and (properties ->> 'passed')::boolean
        ) as quizzes_passed,
        count(*) filter (where event_type = 'course_completed') as courses_completed,
        max(received_at) as data_fresh_as_of
    from events
    group by org_id, activity_date, user_token
)

select
    org_id,
    activity_date,
    count(user_token) filter (where events > 0) as active_learners,
    sum(events)::bigint as events,
    sum(video_plays)::bigint as video_plays,
    sum(videos_completed)::bigint as videos_completed,
    sum(lessons_completed)::bigint as lessons_completed,
    sum(quizzes_submitted)::bigint as quizzes_submitted,
    sum(quizzes_passed)::bigint as quizzes_passed,
    sum(courses_completed)::bigint as courses_completed,
    max(data_fresh_as_of) as data_fresh_as_of
from per_learner
group by org_id, activity_date
