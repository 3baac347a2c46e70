{#
    Why: error messages name JSON types the way a person writing JSON thinks of
    them ("received string"), not DuckDB's internal names (VARCHAR, UBIGINT).
    Returns null when the path is absent. json_type_name_label() does the same
    for a type name already in hand (from json_value_types()), so a record
    parsed once is not parsed again per message.
#}
{% macro json_type_label(json_expr, path) -%}
    {{ json_type_name_label(json_value_type(json_expr, path)) }}
{%- endmacro %}

{% macro json_type_name_label(type_expr) -%}
    case {{ type_expr }}
        when 'VARCHAR' then 'string'
        when 'BIGINT' then 'number'
        when 'UBIGINT' then 'number'
        when 'HUGEINT' then 'number'
        when 'DOUBLE' then 'number'
        when 'BOOLEAN' then 'boolean'
        when 'NULL' then 'null'
        when 'OBJECT' then 'object'
        when 'ARRAY' then 'array'
        else lower({{ type_expr }})
    end
{%- endmacro %}
