{#
    Why: one row per element of a list, with fields computed from the
    element (`param` names it) and from the rest of the row: the rule checks
    read four fields of each recommendation candidate. `fields` is an ordered
    mapping of field name to SQL expression; the fields become columns.
    DuckDB: a recursive unnest of a list_transform to structs; Spark: inline
    of a transform to named_structs.
#}
{% macro unnest_transformed_structs(list_expr, param, fields) -%}
    {{ return(adapter.dispatch('unnest_transformed_structs', 'holdfast')(list_expr, param, fields)) }}
{%- endmacro %}

{% macro default__unnest_transformed_structs(list_expr, param, fields) -%}
    unnest(  -- noqa: AL03
            list_transform(
                {{ list_expr }},
                lambda {{ param }}: {
                    {%- for name, expression in fields.items() %}
                    '{{ name }}': {{ expression }}{{ "," if not loop.last }}
                    {%- endfor %}
                }
            ),
            recursive := true
        )
{%- endmacro %}

{% macro spark__unnest_transformed_structs(list_expr, param, fields) -%}
    inline(transform({{ list_expr }}, {{ param }} -> named_struct(
        {%- for name, expression in fields.items() %}
        '{{ name }}', {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
    )))
{%- endmacro %}
