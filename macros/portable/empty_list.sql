{#
    Why: "no errors" is an empty list of messages, and an empty list literal
    is spelled differently on Spark (where its element type follows the other
    branch of the coalesce).
#}
{% macro empty_list() -%}
    {{ return(adapter.dispatch('empty_list', 'holdfast')()) }}
{%- endmacro %}

{% macro default__empty_list() -%}
    []
{%- endmacro %}

{% macro spark__empty_list() -%}
    array()
{%- endmacro %}
