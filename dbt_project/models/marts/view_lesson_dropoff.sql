-- Per org, course and lesson k: learners_started = learners with any event on lesson k;
-- learners_continued = of those, learners who reached a later lesson or completed the course;
-- dropoff_rate = 1 - continued / started (null when nobody started). Every lesson of every
-- course assigned in the org gets a row, so a funnel shows its empty steps too.
with furthest as (
    select org_id, user_token, course_id, max(lesson_position) as furthest_position
    from {{ ref('int_lesson_reach') }}
    group by org_id, user_token, course_id
),

funnel as (
    select
        r.org_id,
        r.course_id,
        r.lesson_id,
        count(*) as learners_started,
        count(*) filter (
            where f.furthest_position > r.lesson_position or coalesce(s.completed, false)
        ) as learners_continued
    from {{ ref('int_lesson_reach') }} as r
    join furthest as f
        on f.org_id = r.org_id and f.user_token = r.user_token and f.course_id = r.course_id
    left join {{ ref('int_learner_course_status') }} as s
        on s.org_id = r.org_id and s.user_token = r.user_token and s.course_id = r.course_id
    group by r.org_id, r.course_id, r.lesson_id
),

org_courses as (
    select distinct org_id, course_id
    from {{ ref('stg_enrollments') }}
)

select
    oc.org_id,
    oc.course_id,
    l.lesson_id,
    l.lesson_position,
    coalesce(f.learners_started, 0) as learners_started,
    coalesce(f.learners_continued, 0) as learners_continued,
    case when f.learners_started > 0
            then round(1 - f.learners_continued::numeric / f.learners_started, 6)
    end as dropoff_rate
from org_courses as oc
join {{ ref('stg_lessons') }} as l on l.course_id = oc.course_id
left join funnel as f
    on f.org_id = oc.org_id and f.course_id = oc.course_id and f.lesson_id = l.lesson_id
