{#
    Why: a wide row is passed on without a few of its columns (the lists
    already unnested). `columns` are the column names, unqualified; DuckDB
    writes `alias.* exclude (alias.col, ...)`, Spark `alias.* except (col, ...)`.
#}
{% macro star_except(alias, columns) -%}
    {{ return(adapter.dispatch('star_except', 'holdfast')(alias, columns)) }}
{%- endmacro %}

{% macro default__star_except(alias, columns) -%}
    {{ alias }}.* exclude ({% for column in columns %}{{ alias }}.{{ column }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{% macro spark__star_except(alias, columns) -%}
    {{ alias }}.* except ({{ columns | join(', ') }})
{%- endmacro %}
