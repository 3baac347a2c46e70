{#
    Why: the validation rules compare JSON types by name, and the names are
    DuckDB's json_type() ones (VARCHAR, BIGINT for negative integers, UBIGINT
    for the others, DOUBLE, BOOLEAN, NULL, OBJECT, ARRAY; null when the path is
    absent). Other engines map their own type names onto these, so every rule
    and message stays the same on every engine.
#}
{% macro json_value_type(json_expr, path='$') -%}
    {{ return(adapter.dispatch('json_value_type', 'holdfast')(json_expr, path)) }}
{%- endmacro %}

{% macro default__json_value_type(json_expr, path='$') -%}
    {%- if path == '$' -%}
        json_type({{ json_expr }})
    {%- else -%}
        json_type({{ json_expr }}, '{{ path }}')
    {%- endif -%}
{%- endmacro %}

{#- schema_of_variant is computed once (a one-element transform), not per branch -#}
{% macro spark__json_value_type(json_expr, path='$') -%}
    {%- set value = json_expr if path == '$' else "variant_get(" ~ json_expr ~ ", '" ~ path ~ "')" -%}
    element_at(transform(array(schema_of_variant({{ value }})), variant_type -> case
        when variant_type = 'STRING' then 'VARCHAR'
        when variant_type = 'BIGINT' or variant_type rlike r'^DECIMAL\([0-9]+,0\)$'
            then case when try_variant_get({{ value }}, '$', 'double') < 0 then 'BIGINT' else 'UBIGINT' end
        when variant_type rlike r'^(DOUBLE|FLOAT|DECIMAL)' then 'DOUBLE'
        when variant_type = 'BOOLEAN' then 'BOOLEAN'
        when variant_type = 'VOID' then 'NULL'
        when variant_type like 'OBJECT%' then 'OBJECT'
        when variant_type like 'ARRAY%' then 'ARRAY'
        else variant_type
    end), 1)
{%- endmacro %}
