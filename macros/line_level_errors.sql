{#
    Why: before any field rule, a landing line can fail as a line: its file
    was refused, it is not UTF-8, it is empty, it is not JSON, or it is not a
    JSON object. Customer and product validation share these rules, in this
    order; each entry is "error or null", for list_compact().
#}
{% macro line_level_errors(record='record') -%}
    {%- do return([
        "file_refusal_reason",
        "case when file_refusal_reason is null and is_line_undecodable then '$: line is not valid UTF-8' end",
        "case when file_refusal_reason is null and not is_line_undecodable and " ~ trim_chars('raw_line', ' \t') ~ " = '' then '$: empty line' end",
        "case when file_refusal_reason is null and not is_line_undecodable and " ~ trim_chars('raw_line', ' \t') ~ " <> '' and " ~ record ~ " is null then '$: not valid JSON' end",
        "case when " ~ record ~ " is not null and " ~ json_value_type(record) ~ " <> 'OBJECT' then '$: Expected object, received ' || " ~ json_type_label(record, '$') ~ " end",
    ]) -%}
{%- endmacro %}
