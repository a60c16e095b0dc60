select course_id, title as course_title
from {{ source('raw', 'courses') }}
