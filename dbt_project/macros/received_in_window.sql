{#- The received-date window of a partitioned run, which Dagster passes in the environment
    (ANALYTICS_DBT_MIN_RECEIVED_DATE, ANALYTICS_DBT_MAX_RECEIVED_DATE) so that dbt's parse
    state does not change with it. Vars of the same names win (a hand-run `dbt build --vars`);
    with neither, it is every day. -#}
{% macro received_in_window(column='received_date') -%}
    {{ column }} between
    '{{ var("min_received_date", env_var("ANALYTICS_DBT_MIN_RECEIVED_DATE", "0001-01-01")) }}'::date
    and '{{ var("max_received_date", env_var("ANALYTICS_DBT_MAX_RECEIVED_DATE", "9999-12-31")) }}'::date
{%- endmacro %}
