-- Where a video loses its viewers: per (org, course, video lesson) its duration in 10 equal
-- segments. A learner viewed a segment when a watched range overlaps it (any part watched);
-- views count passes, a jump back starting a new one. The duration is the lesson's
-- duration_seconds, else the largest durationSeconds its events reported; a video with
-- neither has no segments. The per-learner counts are int_video_learner_segments', the
-- players int_video_players' (with or without a session).
with learners as (
    select * from {{ ref('int_video_learner_segments') }}
),

videos as (
    select
        l.course_id,
        l.lesson_id,
        l.lesson_position,
        coalesce(l.duration_seconds, max(v.duration_seconds)) as duration_seconds
    from {{ ref('stg_lessons') }} as l
    left join learners as v on v.course_id = l.course_id and v.lesson_id = l.lesson_id
    group by l.course_id, l.lesson_id, l.lesson_position, l.duration_seconds
),

segments as (
    select
        v.course_id,
        v.lesson_id,
        v.lesson_position,
        v.duration_seconds,
        s.segment,
        (s.segment - 1) * v.duration_seconds / 10.0 as segment_start_seconds,
        s.segment * v.duration_seconds / 10.0 as segment_end_seconds
    from videos as v
    cross join generate_series(1, 10) as s (segment)
    where v.duration_seconds > 0
),

-- Each org's videos: those a learner of it played or watched in a session.
players as (
    select
        w.org_id,
        w.course_id,
        w.lesson_id,
        count(p.user_token) as learners_played
    from (
        select org_id, course_id, lesson_id from learners
        union
        select org_id, course_id, lesson_id from {{ ref('int_video_players') }}
    ) as w
    left join {{ ref('int_video_players') }} as p
        on p.org_id = w.org_id and p.course_id = w.course_id and p.lesson_id = w.lesson_id
    group by w.org_id, w.course_id, w.lesson_id
),

coverings as (
    select
        l.org_id,
        l.course_id,
        l.lesson_id,
        u.segment,
        count(*) filter (where u.views > 0) as viewers,
        sum(u.views)::bigint as views
    from learners as l
    cross join lateral unnest(l.segment_views) with ordinality as u (views, segment)
    group by l.org_id, l.course_id, l.lesson_id, u.segment
)

select
    p.org_id,
    s.course_id,
    s.lesson_id,
    s.lesson_position,
    s.segment,
    s.segment_start_seconds,
    s.segment_end_seconds,
    s.duration_seconds,
    p.learners_played,
    coalesce(c.viewers, 0) as viewers,
    coalesce(c.views, 0) as views,
    case when p.learners_played > 0 then round(coalesce(c.viewers, 0)::numeric / p.learners_played, 6) end as reach_rate
from players as p
inner join segments as s on s.course_id = p.course_id and s.lesson_id = p.lesson_id
left join coverings as c
    on c.org_id = p.org_id and c.course_id = s.course_id and c.lesson_id = s.lesson_id and c.segment = s.segment
