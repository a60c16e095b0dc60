select
    org_id, user_token, course_id, lesson_id, first_event_at, last_event_at,
    lesson_completed, video_max_position_seconds, video_completed, quiz_passed, last_received_at
from {{ source('core', 'user_lesson_progress') }}
