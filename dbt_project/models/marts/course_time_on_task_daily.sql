-- Per (org, course, UTC day): how many learners spent time on the course, and the median of
-- their seconds on task that day (learner_time_on_task's rule).
select
    org_id,
    course_id,
    activity_date,
    count(*) as learners,
    percentile_cont(0.5) within group (order by seconds_on_task) as median_seconds_on_task,
    sum(seconds_on_task) as total_seconds_on_task
from {{ ref('learner_time_on_task') }}
group by org_id, course_id, activity_date
