select lesson_id, course_id, position as lesson_position, title as lesson_title, kind, duration_seconds
from {{ source('raw', 'lessons') }}
