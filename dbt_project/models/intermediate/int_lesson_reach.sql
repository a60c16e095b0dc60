-- Each lesson of its course that a learner had any event on, with the lesson's position.
select p.org_id, p.user_token, p.course_id, l.lesson_id, l.lesson_position
from {{ ref('stg_user_lesson_progress') }} as p
join {{ ref('stg_lessons') }} as l
    on l.lesson_id = p.lesson_id and l.course_id = p.course_id
