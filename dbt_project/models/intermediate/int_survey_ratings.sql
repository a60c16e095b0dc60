-- Survey ratings per org, course and received date: partial counts that add up across
-- received dates (survey_summary), so a run reads its window's events only and the figures
-- outlive the raw events' retention.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'course_id', 'received_date'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with ratings as (
    select org_id, course_id, received_date, received_at, (properties ->> 'rating')::int as rating
    from {{ ref('stg_analytics_events') }}
    where event_type = 'survey_submitted' and org_id is not null
        {% if is_incremental() %}
            and {{ received_in_window() }}
        {% endif %}
)

select
    org_id,
    course_id,
    received_date,
    count(*) as responses,
    sum(rating) as rating_sum,
    count(*) filter (where rating = 1) as rating_1,
    count(*) filter (where rating = 2) as rating_2,
    count(*) filter (where rating = 3) as rating_3,
    count(*) filter (where rating = 4) as rating_4,
    count(*) filter (where rating = 5) as rating_5,
    max(received_at) as latest_response_at
from ratings
group by org_id, course_id, received_date
