-- Of the learners active in an org in ISO week w (Monday to Sunday, event time, UTC), how
-- many were active there again in weeks w+1, w+2 and w+4. A rate is null until its week has
-- begun at data_fresh_as_of: nobody could have come back yet.
with weeks as (
    select distinct org_id, user_token, date_trunc('week', activity_date)::date as week_start
    from {{ ref('int_learner_active_days') }}
),

fresh as (
    select (data_fresh_as_of at time zone 'UTC')::date as as_of_date
    from {{ ref('int_data_freshness') }}
),

returns as (
    select
        w.org_id,
        w.week_start,
        count(*) as active_learners,
        count(w1.user_token) as returned_week_1,
        count(w2.user_token) as returned_week_2,
        count(w4.user_token) as returned_week_4
    from weeks as w
    left join weeks as w1 on w1.org_id = w.org_id and w1.user_token = w.user_token and w1.week_start = w.week_start + 7
    left join weeks as w2 on w2.org_id = w.org_id and w2.user_token = w.user_token and w2.week_start = w.week_start + 14
    left join weeks as w4 on w4.org_id = w.org_id and w4.user_token = w.user_token and w4.week_start = w.week_start + 28
    group by w.org_id, w.week_start
)

select
    r.org_id,
    r.week_start,
    r.active_learners,
    r.returned_week_1,
    r.returned_week_2,
    r.returned_week_4,
    case when r.week_start + 7 <= f.as_of_date then round(r.returned_week_1::numeric / r.active_learners, 6) end
        as retention_week_1,
    case when r.week_start + 14 <= f.as_of_date then round(r.returned_week_2::numeric / r.active_learners, 6) end
        as retention_week_2,
    case when r.week_start + 28 <= f.as_of_date then round(r.returned_week_4::numeric / r.active_learners, 6) end
        as retention_week_4
from returns as r
cross join fresh as f
