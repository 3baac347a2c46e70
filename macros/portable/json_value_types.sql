{#
    Why: DuckDB's JSON type is text, and every json_type() call parses it
    again; a customer line has a dozen rules on four fields. This asks the
    types of several paths in one call (one parse on DuckDB), as a list in the
    order of `paths`, under json_value_type()'s names (null when absent).
#}
{% macro json_value_types(json_expr, paths) -%}
    {{ return(adapter.dispatch('json_value_types', 'holdfast')(json_expr, paths)) }}
{%- endmacro %}

{% macro default__json_value_types(json_expr, paths) -%}
    json_type({{ json_expr }}, [{% for path in paths %}'{{ path }}'{{ ", " if not loop.last }}{% endfor %}])
{%- endmacro %}

{#- a VARIANT is parsed once already: one json_value_type() per path -#}
{% macro spark__json_value_types(json_expr, paths) -%}
    array({% for path in paths %}{{ spark__json_value_type(json_expr, path) }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}
