-- Time on task per session (org, learner, course, sessionId) and UTC activity day. The
-- session's events are ordered by occurred_at then clientEventId; each gap to the next event
-- counts, capped at max_idle_seconds, for the day of the event that opens it (so a session
-- across midnight splits at the events). Events without a sessionId are in no session.
-- Incremental by received date: a run recomputes, whole, every session with an event in its
-- window, reading events from the first received date of those sessions on.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'user_token', 'course_id', 'session_id', 'activity_date'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

-- depends_on: {{ ref('int_session_spans') }}

with
{% if is_incremental() %}
    touched as (
        select distinct org_id, user_token, course_id, session_id
        from {{ ref('stg_analytics_events') }}
        where org_id is not null and session_id is not null and {{ received_in_window() }}
    ),
{% endif %}

events as (
    select org_id, user_token, course_id, session_id, activity_date, occurred_at, client_event_id
    from {{ ref('stg_analytics_events') }}
    where org_id is not null and session_id is not null
        {% if is_incremental() %}
            and received_date >= {{ sessions_first_received_date('touched') }}
            and (org_id, user_token, course_id, session_id) in (select * from touched)
        {% endif %}
),

gaps as (
    select
        org_id,
        user_token,
        course_id,
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
    user_token,
    course_id,
    session_id,
    activity_date,
    count(*) as events,
    -- Not least(): it ignores nulls, and would count the cap for a session's last event.
    coalesce(
        sum(case when gap_seconds > {{ var('max_idle_seconds') }} then {{ var('max_idle_seconds') }} else gap_seconds end),
        0
    ) as seconds_on_task
from gaps
group by org_id, user_token, course_id, session_id, activity_date
