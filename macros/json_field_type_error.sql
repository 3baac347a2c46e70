{#
    Why: the first question about any field is "is it there, with the right
    type?". Yields 'path: Required' or 'path: Expected <type>, received <type>'
    (null when fine), with `label` as the path a person sees, e.g.
    'purchaseHistory.3.amount'. `label_expr` is SQL, so list indexes can be
    spliced in.
#}
{% macro json_field_type_error(json_expr, path, label_expr, expected) -%}
    case
        when {{ json_value_type(json_expr, path) }} is null
            then {{ label_expr }} || ': Required'
        when {{ json_type_label(json_expr, path) }} <> '{{ expected }}'
            then {{ label_expr }} || ': Expected {{ expected }}, received '
            || {{ json_type_label(json_expr, path) }}
    end
{%- endmacro %}
