-- The ranges of a video each learner watched, per session. The video events of one session
-- (org, learner, course, lesson, sessionId), ordered by occurred_at then clientEventId, are
-- read in consecutive pairs: a pair is a watched range [this position, next position] when
-- this event is video_played or video_progress (the player was playing), the next position is
-- further on, and it is no further than playing at max_playback_rate could reach in the time
-- between them (plus playback_tolerance_seconds). A jump further than that is a seek forward:
-- skipped, not watched. An event whose position is behind the one before it is a jump back: it
-- starts a new pass over the video (pass_number), so the re-watch counts again as a view.
-- Sessions with no range keep one row with null bounds, for the duration they reported.
-- Incremental by received date: a run recomputes, whole, every session with a video event in
-- its window, reading events from the first received date of those sessions on.
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'user_token', 'course_id', 'lesson_id', 'session_id'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

-- depends_on: {{ ref('int_session_spans') }}

{% set video_events = "('video_played', 'video_progress', 'video_paused', 'video_completed')" %}

with
{% if is_incremental() %}
    touched as (
        select distinct org_id, user_token, course_id, lesson_id, session_id
        from {{ ref('stg_analytics_events') }}
        where event_type in {{ video_events }}
            and org_id is not null and session_id is not null and {{ received_in_window() }}
    ),
{% endif %}

video_events as (
    select
        org_id,
        user_token,
        course_id,
        lesson_id,
        session_id,
        event_type,
        occurred_at,
        client_event_id,
        (properties ->> 'positionSeconds')::numeric as position_seconds,
        (properties ->> 'durationSeconds')::numeric as duration_seconds
    from {{ ref('stg_analytics_events') }}
    where event_type in {{ video_events }}
        and org_id is not null and session_id is not null
        {% if is_incremental() %}
            and received_date >= {{ sessions_first_received_date('touched') }}
            and (org_id, user_token, course_id, lesson_id, session_id) in (select * from touched)
        {% endif %}
),

steps as (
    select
        *,
        lead(position_seconds) over session_order as next_position_seconds,
        lead(occurred_at) over session_order as next_occurred_at,
        coalesce(position_seconds < lag(position_seconds) over session_order, false) as jumped_back
    from video_events
    window session_order as (
        partition by org_id, user_token, course_id, lesson_id, session_id
        order by occurred_at, client_event_id
    )
),

passes as (
    select
        *,
        count(*) filter (where jumped_back) over (
            partition by org_id, user_token, course_id, lesson_id, session_id
            order by occurred_at, client_event_id
        ) as pass_number
    from steps
),

ranges as (
    select
        org_id,
        user_token,
        course_id,
        lesson_id,
        session_id,
        pass_number,
        position_seconds as range_start_seconds,
        next_position_seconds as range_end_seconds
    from passes
    where event_type in ('video_played', 'video_progress')
        and next_position_seconds > position_seconds
        and next_position_seconds - position_seconds
        <= {{ var('max_playback_rate') }} * extract(epoch from next_occurred_at - occurred_at)
        + {{ var('playback_tolerance_seconds') }}
),

sessions as (
    select
        org_id,
        user_token,
        course_id,
        lesson_id,
        session_id,
        max(duration_seconds) as reported_duration_seconds
    from video_events
    group by org_id, user_token, course_id, lesson_id, session_id
)

select
    s.org_id,
    s.user_token,
    s.course_id,
    s.lesson_id,
    s.session_id,
    s.reported_duration_seconds,
    r.pass_number,
    r.range_start_seconds,
    r.range_end_seconds
from sessions as s
left join ranges as r
    on
        r.org_id = s.org_id and r.user_token = s.user_token and r.course_id = s.course_id
        and r.lesson_id = s.lesson_id and r.session_id = s.session_id
