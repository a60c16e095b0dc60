-- The lessons of the courses assigned in each org, by title and position: what the API, the
-- dashboard and the exports name lessons by.
select distinct
    e.org_id,
    l.course_id,
    l.lesson_id,
    l.lesson_position,
    l.lesson_title
from {{ ref('stg_enrollments') }} as e
inner join {{ ref('stg_lessons') }} as l on e.course_id = l.course_id
