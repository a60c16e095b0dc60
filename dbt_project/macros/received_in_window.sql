{#- The received-date window of a partitioned run, which Dagster passes in the environment
    (ANALYTICS_DBT_MIN_RECEIVED_DATE, ANALYTICS_DBT_MAX_RECEIVED_DATE) so that dbt's parse
    state does not change with it. Vars of the same names win (a hand-run `dbt build --vars`);
    with neither, it is every day. -#}
{% macro received_window() -%}
    {{ return([
        var("min_received_date", env_var("ANALYTICS_DBT_MIN_RECEIVED_DATE", "0001-01-01")),
        var("max_received_date", env_var("ANALYTICS_DBT_MAX_RECEIVED_DATE", "9999-12-31")),
    ]) }}
{%- endmacro %}

{% macro received_in_window(column='received_date') -%}
    {%- set first, last = received_window() -%}
    {{ column }} between '{{ first }}'::date and '{{ last }}'::date
{%- endmacro %}

{#- How many received days the window spans (1 while dbt parses, which executes nothing). -#}
{% macro received_window_days() -%}
    {%- if execute -%}
        {%- set first, last = received_window() -%}
        {%- set date = modules.datetime.date -%}
        {{ return((date.fromisoformat(last) - date.fromisoformat(first)).days + 1) }}
    {%- endif -%}
    {{ return(1) }}
{%- endmacro %}
