-- The courses assigned in each org, by title: what the API, the dashboard and the exports
-- name courses by (a tenant reads marts, not the snapshots).
select distinct
    e.org_id,
    c.course_id,
    c.course_title
from {{ ref('stg_enrollments') }} as e
inner join {{ ref('stg_courses') }} as c on e.course_id = c.course_id
