-- Quiz submissions per learner and course, failed and passed. Incremental by received date:
-- a run recomputes, whole, every (org, learner, course) with a submission received in its window.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'user_token', 'course_id'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

select
    org_id,
    user_token,
    course_id,
    count(*) filter (where not (properties ->> 'passed')::boolean) as quizzes_failed,
    count(*) filter (where (properties ->> 'passed')::boolean) as quizzes_passed
from {{ ref('stg_analytics_events') }}
where event_type = 'quiz_submitted' and org_id is not null
    {% if is_incremental() %}
        and (org_id, user_token, course_id) in (
            select org_id, user_token, course_id
            from {{ ref('stg_analytics_events') }}
            where event_type = 'quiz_submitted' and org_id is not null and {{ received_in_window() }}
        )
    {% endif %}
group by org_id, user_token, course_id
