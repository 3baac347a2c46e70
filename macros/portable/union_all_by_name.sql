{#
    Why: two selects of the same shape are stacked into one: the customer and
    product landing lines, or a model's new rows and its previous rows read
    from `this` (ops_dead_letter_queue). DuckDB matches their columns by name;
    Spark SQL stacks them by position, which is the same here because both
    have the same columns in the same order (one macro, landing_file_lines;
    or a table built from the model's own select, whose columns cannot change
    without a full refresh: on_schema_change fail).
#}
{% macro union_all_by_name() -%}
    {{ return(adapter.dispatch('union_all_by_name', 'holdfast')()) }}
{%- endmacro %}

{% macro default__union_all_by_name() -%}
    union all by name
{%- endmacro %}

{% macro spark__union_all_by_name() -%}
    union all
{%- endmacro %}
