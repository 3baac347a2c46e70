{#
    Why: a watermark written into a statement as a constant lets DuckDB check
    it against each row group's range and skip the groups older runs wrote; a
    subquery in the same place makes it read the whole column. Looks up the
    newest value of `column` in `relation` when the model or test runs and
    returns it as a typed SQL literal (cast('...' as TYPE)), or none when the
    relation holds no value. Call it only when `execute` is true and the
    relation exists. On Spark the text is in the session's time zone, read
    back in the same session (typeof gives each engine's own type name).
#}
{% macro newest_value_literal(relation, column) -%}
    {%- set newest = run_query(
        'select ' ~ to_text('max(' ~ column ~ ')') ~ ', typeof(max(' ~ column ~ ')) from ' ~ relation
    ).rows[0] -%}
    {%- if newest[0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return("cast('" ~ (newest[0] | replace("'", "''")) ~ "' as " ~ newest[1] ~ ")") }}
{%- endmacro %}
