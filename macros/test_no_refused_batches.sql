{#
    Why: a refused landing file (bad name, wrong extension) is data that did
    not arrive; the build must say so, not skip it. Returns refused batches.
#}
{% test no_refused_batches(model, column_name) %}
    select
        batch_id,
        source,
        file_name,
        refusal_reason
    from {{ model }}
    where {{ column_name }} = 'refused'
{% endtest %}
