{#
    Why: the first question about any field is "is it there, with the right
    type?". Yields 'path: Required' or 'path: Expected <type>, received <type>'
    (null when fine), with `label` as the path a person sees, e.g.
    'purchaseHistory.3.amount'. `label_expr` is SQL, so list indexes can be
    spliced in. field_type_error() asks the same of a type name already in
    hand (from json_value_types()).
#}
{% macro json_field_type_error(json_expr, path, label_expr, expected) -%}
    {{ field_type_error(json_value_type(json_expr, path), label_expr, expected) }}
{%- endmacro %}

{% macro field_type_error(type_expr, label_expr, expected) -%}
    case
        when {{ type_expr }} is null
            then {{ label_expr }} || ': Required'
        when {{ json_type_name_label(type_expr) }} <> '{{ expected }}'
            then {{ label_expr }} || ': Expected {{ expected }}, received '
            || {{ json_type_name_label(type_expr) }}
    end
{%- endmacro %}
