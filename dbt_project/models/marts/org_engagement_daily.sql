-- Daily activity per org by event time (occurred_at, UTC): a late event moves its own day.
select
    org_id,
    activity_date,
    count(distinct user_token) as active_learners,
    count(*) as events,
    count(*) filter (where event_type = 'video_played') as video_plays,
    count(*) filter (where event_type = 'video_completed') as videos_completed,
    count(*) filter (where event_type = 'lesson_completed') as lessons_completed,
    count(*) filter (where event_type = 'quiz_submitted') as quizzes_submitted,
    count(*) filter (
        where event_type = 'quiz_submitted' and (properties ->> 'passed')::boolean
    ) as quizzes_passed,
    count(*) filter (where event_type = 'course_completed') as courses_completed,
    max(received_at) as data_fresh_as_of
from {{ ref('stg_analytics_events') }}
where org_id is not null
group by org_id, activity_date
