-- Per quiz item (org, course, lesson, questionId): how learners fare on it, and a flag for an
-- item most learners get right, or wrong, on their first try.
with learner_items as (
    select
        org_id,
        course_id,
        lesson_id,
        question_id,
        sum(attempts) as attempts,
        (
            array_agg(first_attempt_correct order by first_answered_at, first_event_id)
            filter (where first_attempt_correct is not null)
        )[1] as first_attempt_correct,
        bool_or(ever_correct) as ever_correct
    from {{ ref('int_quiz_item_attempts') }}
    group by org_id, user_token, course_id, lesson_id, question_id
)

select
    org_id,
    course_id,
    lesson_id,
    question_id,
    count(*) as learners_answered,
    round(avg(first_attempt_correct::int), 6) as first_attempt_correct_rate,
    round(avg(ever_correct::int), 6) as eventual_correct_rate,
    round(sum(attempts)::numeric / count(*), 6) as attempts_per_learner,
    case
        when avg(first_attempt_correct::int) < {{ var('quiz_too_hard_below') }} then 'too_hard'
        when avg(first_attempt_correct::int) > {{ var('quiz_too_easy_above') }} then 'too_easy'
    end as flag
from learner_items
group by org_id, course_id, lesson_id, question_id
