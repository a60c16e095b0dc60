{#- The received-date window of a partitioned run (vars min_received_date, max_received_date).
    Without the vars (a hand-run `dbt build`, `dbt docs generate`) it is every day. -#}
{% macro received_in_window(column='received_date') -%}
    {{ column }} between '{{ var("min_received_date", "0001-01-01") }}'::date
    and '{{ var("max_received_date", "9999-12-31") }}'::date
{%- endmacro %}
