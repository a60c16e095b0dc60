-- The UTC days (event time) on which each learner had any event in an org (a grade of an
-- attempt, `gradeOf`, is the grader's act, not the learner's). Incremental by
-- received date: a day once active stays active, so a run adds what its window's events show.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'user_token', 'activity_date'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

select distinct
    org_id,
    user_token,
    activity_date
from {{ ref('stg_analytics_events') }}
where org_id is not null and properties ->> 'gradeOf' is null
    {% if is_incremental() %}
        and {{ received_in_window() }}
    {% endif %}
