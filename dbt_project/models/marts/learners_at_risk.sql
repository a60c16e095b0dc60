-- Every enrolled learner who has not completed the course, with the reasons to worry and a
-- risk level. Each time-based reason is judged at data_fresh_as_of, never at the wall clock,
-- so a backfilled history reads as the live one did. The reasons, their thresholds (dbt vars)
-- and the mapping from reasons to risk_level (the var risk_levels) are documented in _marts.yml.
{% set levels = var('risk_levels') if execute else {} %}

with fresh as (
    -- Before any event is reflected there is no time to judge at, and no learner is judged.
    select data_fresh_as_of from {{ ref('int_data_freshness') }}
    where data_fresh_as_of is not null
),

quizzes as (
    select org_id, user_token, course_id, sum(quizzes_failed) as quizzes_failed, sum(quizzes_passed) as quizzes_passed
    from {{ ref('int_learner_course_quizzes') }}
    group by org_id, user_token, course_id
),

learners as (
    select
        s.org_id,
        s.course_id,
        s.user_token,
        s.lessons_completed,
        s.lessons_total,
        e.assigned_at,
        e.due_at,
        p.last_event_at as last_activity_at,
        coalesce(q.quizzes_failed, 0) as quizzes_failed,
        coalesce(q.quizzes_passed, 0) as quizzes_passed,
        f.data_fresh_as_of,
        least(greatest(
            extract(epoch from f.data_fresh_as_of - e.assigned_at)
            / nullif(extract(epoch from e.due_at - e.assigned_at), 0), 0
        ), 1) as time_elapsed_share
    from {{ ref('int_learner_course_status') }} as s
    inner join {{ ref('stg_enrollments') }} as e
        on e.org_id = s.org_id and e.user_token = s.user_token and e.course_id = s.course_id
    left join {{ ref('stg_user_course_progress') }} as p
        on p.org_id = s.org_id and p.user_token = s.user_token and p.course_id = s.course_id
    left join quizzes as q
        on q.org_id = s.org_id and q.user_token = s.user_token and q.course_id = s.course_id
    cross join fresh as f
    where not s.completed
),

judged as (
    select
        *,
        array_remove(array[
            case
                when last_activity_at <= data_fresh_as_of - make_interval(days => {{ var('inactive_days') }})
                    then 'inactive'
            end,
            case when due_at < data_fresh_as_of then 'overdue' end,
            case
                when due_at > assigned_at and lessons_total > 0
                    and lessons_completed::numeric / lessons_total
                    < time_elapsed_share - {{ var('behind_pace_points') }} / 100.0
                    then 'behind_pace'
            end,
            case
                when quizzes_failed >= {{ var('failing_quizzes_min') }} and quizzes_passed = 0
                    then 'failing_quizzes'
            end,
            case
                when last_activity_at is null
                    and assigned_at <= data_fresh_as_of - make_interval(days => {{ var('never_started_days') }})
                    then 'never_started'
            end
        ], null) as reasons
    from learners
)

select
    org_id,
    course_id,
    user_token,
    case
        when reasons && array[{% for reason in levels.get('high_if_any', []) %}'{{ reason }}'{{ ", " if not loop.last }}{% endfor %}]::text[]
            or cardinality(reasons) >= {{ levels.get('high_if_at_least', 0) }}
            then 'high'
        when cardinality(reasons) >= {{ levels.get('medium_if_at_least', 0) }} then 'medium'
        else 'low'
    end as risk_level,
    reasons,
    last_activity_at,
    lessons_completed,
    lessons_total,
    assigned_at,
    due_at,
    (due_at at time zone 'UTC')::date - (data_fresh_as_of at time zone 'UTC')::date as days_to_due,
    quizzes_failed,
    quizzes_passed,
    data_fresh_as_of
from judged
