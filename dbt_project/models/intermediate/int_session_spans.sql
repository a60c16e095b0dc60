-- The received dates each session's events span (org, learner, course, sessionId): where a
-- model that recomputes a session whole must look for its events. Incremental by received
-- date: a run widens the spans of the sessions its window's events belong to.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'user_token', 'course_id', 'session_id'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with window_events as (
    select org_id, user_token, course_id, session_id, received_date
    from {{ ref('stg_analytics_events') }}
    where org_id is not null and session_id is not null
        {% if is_incremental() %}
            and {{ received_in_window() }}
        {% endif %}
),

window_sessions as (
    select
        org_id,
        user_token,
        course_id,
        session_id,
        min(received_date) as first_received_date,
        max(received_date) as last_received_date
    from window_events
    group by org_id, user_token, course_id, session_id
)

-- A first build has no spans to widen: the window's sessions are joined with themselves.
{% set known = this if is_incremental() else 'window_sessions' %}

select
    w.org_id,
    w.user_token,
    w.course_id,
    w.session_id,
    least(w.first_received_date, s.first_received_date) as first_received_date,
    greatest(w.last_received_date, s.last_received_date) as last_received_date
from window_sessions as w
-- least() and greatest() skip the nulls of a session seen for the first time.
left join {{ known }} as s
    on
        s.org_id = w.org_id and s.user_token = w.user_token and s.course_id = w.course_id
        and s.session_id = w.session_id
