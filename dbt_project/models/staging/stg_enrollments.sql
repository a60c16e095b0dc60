select org_id, user_token, course_id, assigned_at, due_at
from {{ source('raw', 'enrollments') }}
