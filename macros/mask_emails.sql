{#
    Why: e-mail addresses are personal data; they live in dim_customers and
    nowhere else. Anything that copies input into an operator table (error
    logs, the batch ledger, alerts) masks them first. An address is a run of
    address characters, an at sign written as @ or as the JSON escape \u0040
    (a JSON parser reads "jane\u0040example.com" as an address), then the
    domain's characters, which may be none: a local part left dangling where a
    text was cut is masked too. Backslashes count as address characters, so
    escaped characters inside an address (\u002e) go with it. The result holds
    no at sign, so masking twice changes nothing.
    keep_distinct=true is for names that are keys (a refused file's batch_id):
    a masked name gets '#' and 8 hex digits of the md5 of the original, so two
    refused files named after different addresses stay two rows; a name with
    no address is returned unchanged.
    holdfast.domain.privacy.mask_emails applies the same rule in Python.
    The engines differ only in how a regex is spelled: regex_replace_all and
    regex_contains say it for each.
#}
{#- the address pattern (RE2 and Java regex alike) -#}
{% macro email_pattern() -%}
    {%- set pattern -%}
        [^\s"@,;:<>()\[\]]+(@|\\[uU]0040)[^\s"@,;:<>()\[\]]*
    {%- endset -%}
    {{ return(pattern | trim) }}
{%- endmacro %}

{% macro mask_emails(text_expr, keep_distinct=false) -%}
    {%- set pattern = email_pattern() -%}
    {%- set masked = regex_replace_all(text_expr, pattern, '<email>') | trim -%}
    {%- if keep_distinct -%}
        case
            when {{ regex_contains(text_expr, pattern) | trim }}
                then {{ masked }} || '#' || left(md5({{ text_expr }}), 8)
            else {{ text_expr }}
        end
    {%- else -%}
        {{ masked }}
    {%- endif -%}
{%- endmacro %}
