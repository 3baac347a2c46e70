{#
    Why: counting distinct buyers groups by a 64-bit hash of the id (cheaper
    than count(distinct) on text). DuckDB's hash() is 64-bit; Spark's hash()
    is a 32-bit Murmur3, so Spark uses xxhash64. Only equality of the keys
    matters, never their values.
#}
{% macro hash64(expr) -%}
    {{ return(adapter.dispatch('hash64', 'holdfast')(expr)) }}
{%- endmacro %}

{% macro default__hash64(expr) -%}
    hash({{ expr }})
{%- endmacro %}

{% macro spark__hash64(expr) -%}
    xxhash64({{ expr }})
{%- endmacro %}
