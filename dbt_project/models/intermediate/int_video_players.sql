-- Every learner who played each video (org, learner, course, lesson): a video_played event on
-- it, with or without a sessionId. Incremental by received date: a learner once a player stays
-- one, so a run adds what its window's events show.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'user_token', 'course_id', 'lesson_id'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

select distinct
    org_id,
    user_token,
    course_id,
    lesson_id
from {{ ref('stg_analytics_events') }}
where event_type = 'video_played' and org_id is not null
    {% if is_incremental() %}
        and {{ received_in_window() }}
    {% endif %}
