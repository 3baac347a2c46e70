{#
    Why: error messages name JSON types the way a person writing JSON thinks of
    them ("received string"), not DuckDB's internal names (VARCHAR, UBIGINT).
    Returns null when the path is absent.
#}
{% macro json_type_label(json_expr, path) -%}
    case {{ json_value_type(json_expr, path) }}
        when 'VARCHAR' then 'string'
        when 'BIGINT' then 'number'
        when 'UBIGINT' then 'number'
        when 'HUGEINT' then 'number'
        when 'DOUBLE' then 'number'
        when 'BOOLEAN' then 'boolean'
        when 'NULL' then 'null'
        when 'OBJECT' then 'object'
        when 'ARRAY' then 'array'
        else lower({{ json_value_type(json_expr, path) }})
    end
{%- endmacro %}
