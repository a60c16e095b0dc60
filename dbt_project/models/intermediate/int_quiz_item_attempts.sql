-- Answers per learner and quiz item (org, course, lesson, questionId), per received date: how
-- many, the first of them that says whether it was right (by occurred_at, then clientEventId)
-- and whether it was, whether any was. The partials combine across received dates (quiz_item_difficulty), so a
-- run rebuilds only its window's dates.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'user_token', 'course_id', 'lesson_id', 'question_id', 'received_date'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with answers as (
    select
        org_id,
        user_token,
        course_id,
        lesson_id,
        received_date,
        properties ->> 'questionId' as question_id,
        (properties ->> 'correct')::boolean as correct,
        occurred_at,
        client_event_id
    from {{ ref('stg_analytics_events') }}
    where event_type = 'quiz_answered' and org_id is not null
        {% if is_incremental() %}
            and {{ received_in_window() }}
        {% endif %}
)

select
    org_id,
    user_token,
    course_id,
    lesson_id,
    question_id,
    received_date,
    count(*) as attempts,
    -- The first answer that says whether it was right: one that does not is an attempt only.
    coalesce(min(occurred_at) filter (where correct is not null), min(occurred_at)) as first_answered_at,
    coalesce(
        (array_agg(client_event_id order by occurred_at, client_event_id) filter (where correct is not null))[1],
        (array_agg(client_event_id order by occurred_at, client_event_id))[1]
    ) as first_event_id,
    (array_agg(correct order by occurred_at, client_event_id) filter (where correct is not null))[1]
        as first_attempt_correct,
    bool_or(correct) as ever_correct
from answers
group by org_id, user_token, course_id, lesson_id, question_id, received_date
