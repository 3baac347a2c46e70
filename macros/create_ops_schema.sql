{#
    Why: the run-start hooks write to the `ops` schema before any model has
    created it (the very first run of an empty warehouse); a hook of its own,
    because Spark runs one statement per hook.
#}
{% macro create_ops_schema() -%}
    create schema if not exists ops
{%- endmacro %}
