-- Quiz submissions per learner and course, failed and passed, per received date: partial
-- counts that add up across received dates, so a run rebuilds only its window's dates.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'user_token', 'course_id', 'received_date'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

select
    org_id,
    user_token,
    course_id,
    received_date,
    count(*) filter (where not (properties ->> 'passed')::boolean) as quizzes_failed,
    count(*) filter (where (properties ->> 'passed')::boolean) as quizzes_passed
from {{ ref('stg_analytics_events') }}
where event_type = 'quiz_submitted' and org_id is not null
    {% if is_incremental() %}
        and {{ received_in_window() }}
    {% endif %}
group by org_id, user_token, course_id, received_date
