{#
    Why: the marts' contracts and the seed's column types are written in
    DuckDB's type names (the default engine); Spark names some of them
    differently (varchar has no length-free form there, timestamps are
    instants in the session time zone, UTC). This maps a declared type to
    Spark's; any other name passes through unchanged.
#}
{% macro spark_type(data_type) -%}
    {%- set name = data_type | trim | lower -%}
    {%- set scalars = {
        'varchar': 'string',
        'text': 'string',
        'timestamp with time zone': 'timestamp',
        'timestamptz': 'timestamp',
        'hugeint': 'decimal(38,0)',
        'integer': 'int',
        'float': 'float',
        'real': 'float',
    } -%}
    {%- if name.endswith('[]') -%}
        array<{{ spark_type(name[:-2]) }}>
    {%- else -%}
        {{ scalars.get(name, name) }}
    {%- endif -%}
{%- endmacro %}
