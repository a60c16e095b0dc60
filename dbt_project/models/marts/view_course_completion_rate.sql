-- completion_rate = completed / enrolled learners of a course in an org (null when none enrolled).
select
    s.org_id,
    s.course_id,
    c.course_title,
    count(*) as enrolled_learners,
    count(*) filter (where s.completed) as completed_learners,
    case when count(*) > 0
            then round(count(*) filter (where s.completed)::numeric / count(*), 6)
    end as completion_rate
from {{ ref('int_learner_course_status') }} as s
left join {{ ref('stg_courses') }} as c on c.course_id = s.course_id
group by s.org_id, s.course_id, c.course_title
