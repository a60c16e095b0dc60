-- Answers per learner and quiz item (org, course, lesson, questionId): how many, whether the
-- first (by occurred_at, then clientEventId) was correct, whether any was. Incremental by
-- received date: a run recomputes, whole, every learner-item with an answer in its window.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'user_token', 'course_id', 'lesson_id', 'question_id'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with answers as (
    select
        org_id,
        user_token,
        course_id,
        lesson_id,
        properties ->> 'questionId' as question_id,
        (properties ->> 'correct')::boolean as correct,
        occurred_at,
        client_event_id
    from {{ ref('stg_analytics_events') }}
    where event_type = 'quiz_answered' and org_id is not null
        {% if is_incremental() %}
            and (org_id, user_token, course_id) in (
                select org_id, user_token, course_id
                from {{ ref('stg_analytics_events') }}
                where event_type = 'quiz_answered' and org_id is not null and {{ received_in_window() }}
            )
        {% endif %}
)

select
    org_id,
    user_token,
    course_id,
    lesson_id,
    question_id,
    count(*) as attempts,
    (array_agg(correct order by occurred_at, client_event_id))[1] as first_attempt_correct,
    bool_or(correct) as ever_correct
from answers
group by org_id, user_token, course_id, lesson_id, question_id
