{#
    Why: one definition of "an ISO-8601 datetime" for every field that needs
    one: a full date, a time with seconds, and an explicit zone (Z or +hh:mm),
    and it must be a real instant (no February 30th). Naive local times are
    refused because they cannot be placed in UTC.
#}
{% macro is_iso_datetime(text_expr) -%}
    coalesce(
        {{ regex_full_match(
            text_expr,
            '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})'
        ) }}
        and {{ try_cast_timestamp(text_expr) }} is not null,
        false
    )
{%- endmacro %}
