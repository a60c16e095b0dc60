-- Time on task per (org, course, learner, UTC activity day). The events of a session (org,
-- learner, course, sessionId) are ordered by occurred_at then clientEventId; each gap to the
-- next event counts, capped at max_idle_seconds, for the day of the event that opens it (so a
-- session across midnight splits at the events). Events without a sessionId are in no session.
-- Incremental by received date: a run recomputes, whole, every learner-day that a session
-- with an event in its window touches, from every session with an event on that day.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'course_id', 'user_token', 'activity_date'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with session_events as (
    select org_id, user_token, course_id, session_id, activity_date, occurred_at, client_event_id, received_date
    from {{ ref('stg_analytics_events') }}
    where org_id is not null and session_id is not null
),

{% if is_incremental() %}
    affected_days as (
        select distinct e.org_id, e.user_token, e.course_id, e.activity_date
        from session_events as e
        where (e.org_id, e.user_token, e.course_id, e.session_id) in (
                select org_id, user_token, course_id, session_id
                from session_events
                where {{ received_in_window() }}
            )
    ),

    events as (
        select *
        from session_events
        where (org_id, user_token, course_id, session_id) in (
                select d.org_id, d.user_token, d.course_id, d.session_id
                from session_events as d
                where (d.org_id, d.user_token, d.course_id, d.activity_date) in (select * from affected_days)
            )
    ),
{% else %}
    events as (
        select * from session_events
    ),
{% endif %}

gaps as (
    select
        org_id,
        course_id,
        user_token,
        session_id,
        activity_date,
        extract(epoch from lead(occurred_at) over session_order - occurred_at) as gap_seconds
    from events
    window session_order as (
        partition by org_id, user_token, course_id, session_id
        order by occurred_at, client_event_id
    )
)

select
    org_id,
    course_id,
    user_token,
    activity_date,
    count(distinct session_id) as sessions,
    count(*) as events,
    -- Not least(): it ignores nulls, and would count the cap for a session's last event.
    coalesce(
        sum(case when gap_seconds > {{ var('max_idle_seconds') }} then {{ var('max_idle_seconds') }} else gap_seconds end),
        0
    ) as seconds_on_task
from gaps
{% if is_incremental() %}
    where (org_id, user_token, course_id, activity_date) in (select * from affected_days)
{% endif %}
group by org_id, course_id, user_token, activity_date
