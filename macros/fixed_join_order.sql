{#
    Why: DuckDB picks a join's build side from cardinality estimates, and its
    estimates for filtered scans are far too low; at 2 million customers it
    chose to build hash tables of the wide scored candidate lists and ran out
    of memory. A model that writes every join with its narrow or small side on
    the right runs between these two hooks: pre_hook fixed_join_order() turns
    off the join-order and build-side optimizers (DuckDB then builds each
    join's right side, as written), post_hook default_join_order() turns them
    back on. The setting is global to the DuckDB database: dbt runs one model
    at a time on DuckDB (threads: 1 in profiles.yml). If the model fails, the
    optimizers stay off for the rest of that dbt invocation, which changes no
    result, only plans. Elsewhere these are no-ops.
#}
{% macro fixed_join_order() -%}
    {%- if target.type == 'duckdb' -%}
        set disabled_optimizers = 'join_order,build_side_probe_side,common_subplan'
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro default_join_order() -%}
    {%- if target.type == 'duckdb' -%}
        reset disabled_optimizers
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
