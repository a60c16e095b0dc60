{#- The earliest received date of any event of the sessions in `touched` (a relation with
    org_id, user_token, course_id and session_id), from int_session_spans. A model that
    recomputes those sessions whole reads events from that date on: PostgreSQL skips the
    earlier received-date partitions at run time, so one new day does not scan the history. -#}
{% macro sessions_first_received_date(touched) -%}
    (
        select min(s.first_received_date)
        from {{ ref('int_session_spans') }} as s
        where (s.org_id, s.user_token, s.course_id, s.session_id) in (
            select t.org_id, t.user_token, t.course_id, t.session_id from {{ touched }} as t
        )
    )
{%- endmacro %}
