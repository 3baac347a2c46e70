{#
    Why: as json_value_types(), for json_text(): the text of several paths in
    one call (one parse on DuckDB), as a list in the order of `paths`; strings
    unquoted, numbers as written, null when absent or JSON null.
#}
{% macro json_texts(json_expr, paths) -%}
    {{ return(adapter.dispatch('json_texts', 'holdfast')(json_expr, paths)) }}
{%- endmacro %}

{% macro default__json_texts(json_expr, paths) -%}
    json_extract_string({{ json_expr }}, [{% for path in paths %}'{{ path }}'{{ ", " if not loop.last }}{% endfor %}])
{%- endmacro %}

{% macro spark__json_texts(json_expr, paths) -%}
    array({% for path in paths %}{{ spark__json_text(json_expr, path) }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}
