select
    client_event_id,
    event_type,
    occurred_at,
    (occurred_at at time zone 'UTC')::date as activity_date,
    received_at,
    received_date,
    user_token,
    org_id,
    course_id,
    lesson_id,
    session_id,
    properties
from {{ source('raw', 'analytics_events') }}
