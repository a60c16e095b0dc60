-- Time on task per (org, course, learner, UTC activity day): the sum over the learner's
-- sessions of their time on that day (int_session_days, where the method is). Incremental by
-- received date: a run recomputes every learner-day of the sessions with an event in its window.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'course_id', 'user_token', 'activity_date'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

-- depends_on: {{ ref('stg_analytics_events') }}

{% if is_incremental() %}
    with affected_days as (
        select distinct d.org_id, d.user_token, d.course_id, d.activity_date
        from {{ ref('int_session_days') }} as d
        where (d.org_id, d.user_token, d.course_id, d.session_id) in (
                select org_id, user_token, course_id, session_id
                from {{ ref('stg_analytics_events') }}
                where org_id is not null and session_id is not null and {{ received_in_window() }}
            )
    )
{% endif %}

select
    org_id,
    course_id,
    user_token,
    activity_date,
    count(*) as sessions,
    sum(events)::bigint as events,
    sum(seconds_on_task) as seconds_on_task
from {{ ref('int_session_days') }}
{% if is_incremental() %}
    where (org_id, user_token, course_id, activity_date) in (select * from affected_days)
{% endif %}
group by org_id, course_id, user_token, activity_date
