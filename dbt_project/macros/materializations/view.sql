{#
    Views are replaced in place. dbt's own view materialization renames the old view away
    and drops it with CASCADE, which drops every view built on it: a partition's build of
    the staging views would drop the intermediate views under a marts build running at the
    same time. PostgreSQL keeps dependent views across CREATE OR REPLACE VIEW as long as the
    columns keep their names and types (new ones go at the end); when they do not, the view
    is dropped and created again, and its dependents with it come back with the next build
    that selects them (the marts build selects them all).
#}
{% materialization view, adapter='postgres' %}

    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set grant_config = config.get('grants') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}

    {%- if existing_relation is not none and not existing_relation.is_view -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}

    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% call statement('main') -%}
        do $replace_view$
        begin
            execute {{ sql_literal('create or replace view ' ~ target_relation ~ ' as (' ~ sql ~ ')') }};
        exception when invalid_table_definition then
            execute {{ sql_literal('drop view ' ~ target_relation ~ ' cascade') }};
            execute {{ sql_literal('create view ' ~ target_relation ~ ' as (' ~ sql ~ ')') }};
        end
        $replace_view$
    {%- endcall %}

    {%- set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) -%}
    {%- do apply_grants(target_relation, grant_config, should_revoke=should_revoke) -%}
    {%- do persist_docs(target_relation, model) -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}

    {{ adapter.commit() }}

    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}


{% macro sql_literal(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}
