-- Per learner and video (org, learner, course, lesson) watched in a session: the duration its
-- segments are cut by, and how many passes over the video (a session's watching
-- until a jump back) watched any part of each of the 10 segments (segment_views[1..10]). The
-- duration is the lesson's duration_seconds, else the largest durationSeconds any player
-- reported for it.
-- Incremental: a run recomputes the learners with a video event in its window, and every
-- learner of a video whose duration moved (a larger reported duration arrived).
{{ config(
    materialized='incremental',
    unique_key=['org_id', 'user_token', 'course_id', 'lesson_id'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

-- depends_on: {{ ref('stg_analytics_events') }}

with durations as (
    select
        l.course_id,
        l.lesson_id,
        coalesce(l.duration_seconds, max(r.reported_duration_seconds)) as duration_seconds
    from {{ ref('stg_lessons') }} as l
    inner join {{ ref('int_video_watch_ranges') }} as r on r.course_id = l.course_id and r.lesson_id = l.lesson_id
    group by l.course_id, l.lesson_id, l.duration_seconds
),

{% if is_incremental() %}
    redo as (
        select org_id, user_token, course_id, lesson_id
        from {{ ref('stg_analytics_events') }}
        where event_type in ('video_played', 'video_progress', 'video_paused', 'video_completed')
            and org_id is not null and session_id is not null and {{ received_in_window() }}
        union
        select t.org_id, t.user_token, t.course_id, t.lesson_id
        from {{ this }} as t
        inner join durations as d on d.course_id = t.course_id and d.lesson_id = t.lesson_id
        where t.duration_seconds is distinct from d.duration_seconds
    ),
{% endif %}

ranges as (
    select r.*
    from {{ ref('int_video_watch_ranges') }} as r
    {% if is_incremental() %}
        where (r.org_id, r.user_token, r.course_id, r.lesson_id) in (select * from redo)
    {% endif %}
)

-- Per learner and video, with a duration to cut by: how many of their passes watched part of each segment (segment_views[k]): ranges of one pass that meet
-- at a progress event touch the segment between them once. One aggregation over the ranges,
-- each range beside the segments it overlaps (none: one row with no segment), so no join
-- between two per-learner sets, whose row estimates can fall to one.
select
    r.org_id,
    r.user_token,
    r.course_id,
    r.lesson_id,
    d.duration_seconds,
    array[
        {%- for k in range(1, 11) %}
            count(distinct r.session_id || ':' || r.pass_number)
            filter (where covered.segment = {{ k }}){{ "," if not loop.last }}
        {%- endfor %}
    ] as segment_views
from ranges as r
inner join durations as d on d.course_id = r.course_id and d.lesson_id = r.lesson_id
left join lateral (
    -- The candidates between the range's ends (one either side for rounding), then the
    -- overlap itself: the range [start, end) and the segment [from, to) share a moment.
    select s.segment
    from
        generate_series(
            greatest(1, floor(r.range_start_seconds * 10 / d.duration_seconds)::int),
            least(10, ceil(r.range_end_seconds * 10 / d.duration_seconds)::int + 1)
        ) as s (segment)
    where
        r.range_start_seconds is not null
        and r.range_start_seconds < s.segment * d.duration_seconds / 10.0
        and (s.segment - 1) * d.duration_seconds / 10.0 < r.range_end_seconds
) as covered on true
where d.duration_seconds > 0
group by r.org_id, r.user_token, r.course_id, r.lesson_id, d.duration_seconds
