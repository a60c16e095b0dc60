select org_id, user_token, course_id, course_completed_event, last_received_at
from {{ source('core', 'user_course_progress') }}
