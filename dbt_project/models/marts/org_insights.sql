-- Per org, the figures a dashboard loads instantly. Activity windows are anchored on
-- data_fresh_as_of (the newest receivedAt the marts reflect), not on the wall clock, so a
-- replayed or backfilled history gives the same figures as a live one.
with fresh as (
    select data_fresh_as_of as as_of
    from {{ ref('int_data_freshness') }}
),

active as (
    -- From the learners' active days, which outlive the raw events' retention.
    select
        d.org_id,
        count(distinct d.user_token) filter (
            where d.activity_date > (f.as_of at time zone 'UTC')::date - 7
        ) as active_learners_7d,
        count(distinct d.user_token) as active_learners_30d
    from {{ ref('int_learner_active_days') }} as d
    cross join fresh as f
    where d.activity_date > (f.as_of at time zone 'UTC')::date - 30
    group by d.org_id
),

completion as (
    select
        org_id,
        sum(enrolled_learners) as enrolled_learners,
        sum(completed_learners) as completed_learners
    from {{ ref('view_course_completion_rate') }}
    group by org_id
),

top_dropoff as (
    -- Lessons too few learners reached for their rate to mean anything are left out.
    select distinct on (d.org_id)
        d.org_id,
        d.course_id,
        d.lesson_id,
        d.dropoff_rate,
        l.lesson_title,
        l.lesson_position
    from {{ ref('view_lesson_dropoff') }} as d
    inner join {{ ref('stg_lessons') }} as l on d.lesson_id = l.lesson_id
    where d.learners_started >= {{ var('top_dropoff_min_learners') }}
    order by d.org_id asc, d.dropoff_rate desc, d.learners_started desc, d.course_id asc, d.lesson_id asc
),

video as (
    select
        org_id,
        count(*) filter (where video_max_position_seconds is not null or video_completed) as videos_played,
        count(*) filter (where video_completed) as videos_completed
    from {{ ref('stg_user_lesson_progress') }}
    group by org_id
),

quizzes as (
    select
        org_id,
        sum(quizzes_submitted) as quizzes_submitted,
        sum(quizzes_passed) as quizzes_passed
    from {{ ref('org_engagement_daily') }}
    group by org_id
),

surveys as (
    select
        org_id,
        sum(responses) as survey_responses,
        sum(avg_rating * responses) / nullif(sum(responses), 0) as survey_avg_rating
    from {{ ref('survey_summary') }}
    group by org_id
),

at_risk as (
    select
        org_id,
        count(*) filter (where risk_level in ('high', 'medium')) as at_risk_learners,
        count(*) filter (where risk_level = 'high') as high_risk_learners
    from {{ ref('learners_at_risk') }}
    group by org_id
),

weakest_segment as (
    -- Videos too few learners played for their reach to mean anything are left out.
    select distinct on (org_id)
        org_id,
        course_id,
        lesson_id,
        segment,
        reach_rate
    from {{ ref('video_engagement') }}
    where learners_played >= {{ var('insight_min_learners') }}
    order by org_id asc, reach_rate asc, course_id asc, lesson_id asc, segment asc
),

suspicious_item as (
    -- The flagged item farthest outside the expected first-attempt band.
    select distinct on (org_id)
        org_id,
        course_id,
        lesson_id,
        question_id,
        flag,
        first_attempt_correct_rate
    from {{ ref('quiz_item_difficulty') }}
    where flag is not null and learners_answered >= {{ var('insight_min_learners') }}
    order by
        org_id asc,
        greatest(
            {{ var('quiz_too_hard_below') }} - first_attempt_correct_rate,
            first_attempt_correct_rate - {{ var('quiz_too_easy_above') }}
        ) desc,
        learners_answered desc, course_id asc, lesson_id asc, question_id asc
)

select
    o.org_id,
    o.org_name,
    coalesce(a.active_learners_7d, 0) as active_learners_7d,
    coalesce(a.active_learners_30d, 0) as active_learners_30d,
    coalesce(c.enrolled_learners, 0) as enrolled_learners,
    coalesce(c.completed_learners, 0) as completed_learners,
    round(c.completed_learners::numeric / nullif(c.enrolled_learners, 0), 4) as completion_rate,
    t.course_id as top_dropoff_course_id,
    t.lesson_id as top_dropoff_lesson_id,
    t.lesson_title as top_dropoff_lesson_title,
    t.lesson_position as top_dropoff_lesson_position,
    t.dropoff_rate as top_dropoff_rate,
    coalesce(v.videos_played, 0) as videos_played,
    coalesce(v.videos_completed, 0) as videos_completed,
    round(v.videos_completed::numeric / nullif(v.videos_played, 0), 4) as video_completion_rate,
    coalesce(q.quizzes_submitted, 0) as quizzes_submitted,
    round(q.quizzes_passed::numeric / nullif(q.quizzes_submitted, 0), 4) as quiz_pass_rate,
    coalesce(s.survey_responses, 0) as survey_responses,
    round(s.survey_avg_rating, 2) as survey_avg_rating,
    coalesce(r.at_risk_learners, 0) as at_risk_learners,
    coalesce(r.high_risk_learners, 0) as high_risk_learners,
    w.course_id as weakest_segment_course_id,
    w.lesson_id as weakest_segment_lesson_id,
    w.segment as weakest_segment,
    w.reach_rate as weakest_segment_reach_rate,
    i.course_id as suspicious_item_course_id,
    i.lesson_id as suspicious_item_lesson_id,
    i.question_id as suspicious_item_question_id,
    i.flag as suspicious_item_flag,
    i.first_attempt_correct_rate as suspicious_item_first_attempt_correct_rate,
    (select f.as_of from fresh as f) as data_fresh_as_of
from {{ ref('stg_organizations') }} as o
left join active as a on o.org_id = a.org_id
left join completion as c on o.org_id = c.org_id
left join top_dropoff as t on o.org_id = t.org_id
left join video as v on o.org_id = v.org_id
left join quizzes as q on o.org_id = q.org_id
left join surveys as s on o.org_id = s.org_id
left join at_risk as r on o.org_id = r.org_id
left join weakest_segment as w on o.org_id = w.org_id
left join suspicious_item as i on o.org_id = i.org_id
