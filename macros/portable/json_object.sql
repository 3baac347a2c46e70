{#
    Why: an alert's figures travel as one JSON object. DuckDB: to_json of a
    struct literal; Spark: to_json of a named_struct, which leaves out the
    fields that are null (DuckDB writes them as null). `fields` is an
    ordered mapping of key to SQL expression.
#}
{% macro json_object(fields) -%}
    {{ return(adapter.dispatch('json_object', 'holdfast')(fields)) }}
{%- endmacro %}

{% macro default__json_object(fields) -%}
    to_json({
            {%- for name, expression in fields.items() %}
            '{{ name }}': {{ expression }}{{ "," if not loop.last }}
            {%- endfor %}
        })
{%- endmacro %}

{% macro spark__json_object(fields) -%}
    to_json(named_struct(
            {%- for name, expression in fields.items() %}
            '{{ name }}', {{ expression }}{{ "," if not loop.last }}
            {%- endfor %}
        ))
{%- endmacro %}
