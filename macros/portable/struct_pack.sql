{#
    Why: a typed record inside a list (a valid purchase) is a struct literal;
    `fields` is an ordered mapping of field name to SQL expression.
#}
{% macro struct_pack(fields) -%}
    {{ return(adapter.dispatch('struct_pack', 'holdfast')(fields)) }}
{%- endmacro %}

{% macro default__struct_pack(fields) -%}
    {
        {%- for name, expression in fields.items() %}
                '{{ name }}': {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
            }
{%- endmacro %}

{% macro spark__struct_pack(fields) -%}
    named_struct(
        {%- for name, expression in fields.items() %}
        '{{ name }}', {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
