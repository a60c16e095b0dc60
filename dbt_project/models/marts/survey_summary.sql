-- Ratings and counts only: free text stays in the restricted raw.survey_free_text table.
select
    org_id,
    course_id,
    count(*) as responses,
    round(avg((properties ->> 'rating')::numeric), 4) as avg_rating,
    count(*) filter (where (properties ->> 'rating')::int = 1) as rating_1,
    count(*) filter (where (properties ->> 'rating')::int = 2) as rating_2,
    count(*) filter (where (properties ->> 'rating')::int = 3) as rating_3,
    count(*) filter (where (properties ->> 'rating')::int = 4) as rating_4,
    count(*) filter (where (properties ->> 'rating')::int = 5) as rating_5,
    max(received_at) as latest_response_at
from {{ ref('stg_analytics_events') }}
where event_type = 'survey_submitted' and org_id is not null
group by org_id, course_id
