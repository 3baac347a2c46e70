{#
    Why: "an empty line" means nothing but spaces and tabs; trimming a given
    set of characters is spelled differently on each engine. `chars` is a
    constant written in the project.
#}
{% macro trim_chars(text_expr, chars) -%}
    {{ return(adapter.dispatch('trim_chars', 'holdfast')(text_expr, chars)) }}
{%- endmacro %}

{% macro default__trim_chars(text_expr, chars) -%}
    trim({{ text_expr }}, '{{ chars }}')
{%- endmacro %}

{% macro spark__trim_chars(text_expr, chars) -%}
    trim(both '{{ chars }}' from {{ text_expr }})
{%- endmacro %}
