-- One row per enrollment: completed when the learner sent course_completed in that org, or
-- completed every lesson of the course there.
with lessons_total as (
    select course_id, count(*) as lessons_total
    from {{ ref('stg_lessons') }}
    group by course_id
),

lessons_completed as (
    select p.org_id, p.user_token, p.course_id, count(*) as lessons_completed
    from {{ ref('stg_user_lesson_progress') }} as p
    join {{ ref('stg_lessons') }} as l
        on l.lesson_id = p.lesson_id and l.course_id = p.course_id
    where p.lesson_completed
    group by p.org_id, p.user_token, p.course_id
)

select
    e.org_id,
    e.user_token,
    e.course_id,
    coalesce(c.lessons_completed, 0) as lessons_completed,
    coalesce(t.lessons_total, 0) as lessons_total,
    coalesce(cp.course_completed_event, false)
    or (t.lessons_total > 0 and coalesce(c.lessons_completed, 0) = t.lessons_total) as completed
from {{ ref('stg_enrollments') }} as e
left join {{ ref('stg_user_course_progress') }} as cp
    on cp.org_id = e.org_id and cp.user_token = e.user_token and cp.course_id = e.course_id
left join lessons_completed as c
    on c.org_id = e.org_id and c.user_token = e.user_token and c.course_id = e.course_id
left join lessons_total as t
    on t.course_id = e.course_id
