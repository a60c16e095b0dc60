select org_id, user_token, course_id, first_event_at, last_event_at, course_completed_event, last_received_at
from {{ source('core', 'user_course_progress') }}
