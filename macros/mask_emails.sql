{#
    Why: e-mail addresses are personal data; they live in dim_customers and
    nowhere else. Anything that copies raw input into an operator table
    (error logs, alerts) masks them first.
#}
{% macro mask_emails(text_expr) -%}
    regexp_replace({{ text_expr }}, '[^\s"@,;:<>()\[\]]+@[^\s"@,;:<>()\[\]]+', '<email>', 'g')
{%- endmacro %}
