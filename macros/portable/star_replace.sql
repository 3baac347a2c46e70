{#
    Why: a row passed on with a few of its columns replaced (a dead letter
    marked resolved). `replacements` maps a column name to its new SQL
    expression. DuckDB writes `alias.* replace (expr as col, ...)`; Spark has
    no `* replace`, so its version lists the columns of `relation` (the
    relation `alias` reads, looked up when the model runs) in their order,
    each replaced one in its place, so the row keeps its column order.
#}
{% macro star_replace(alias, relation, replacements) -%}
    {{ return(adapter.dispatch('star_replace', 'holdfast')(alias, relation, replacements)) }}
{%- endmacro %}

{% macro default__star_replace(alias, relation, replacements) -%}
    {{ alias }}.* replace ({% for column, expression in replacements.items() %}{{ expression }} as {{ column }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{% macro spark__star_replace(alias, relation, replacements) -%}
    {%- set columns = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name in replacements -%}
                {%- do columns.append(replacements[column.name] ~ ' as ' ~ column.name) -%}
            {%- else -%}
                {%- do columns.append(alias ~ '.' ~ column.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ columns | join(', ') if columns else alias ~ '.*' }}
{%- endmacro %}
