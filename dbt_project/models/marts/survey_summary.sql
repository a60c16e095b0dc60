-- Ratings and counts only: free text stays in the restricted raw.survey_free_text table.
select
    org_id,
    course_id,
    sum(responses)::bigint as responses,
    round(sum(rating_sum)::numeric / sum(responses), 4) as avg_rating,
    sum(rating_1)::bigint as rating_1,
    sum(rating_2)::bigint as rating_2,
    sum(rating_3)::bigint as rating_3,
    sum(rating_4)::bigint as rating_4,
    sum(rating_5)::bigint as rating_5,
    max(latest_response_at) as latest_response_at
from {{ ref('int_survey_ratings') }}
group by org_id, course_id
