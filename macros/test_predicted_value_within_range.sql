{#
    Why: a predicted value outside a plausible range (default 0..10000) means
    the model or its inputs went wrong. Fails on rows of the latest run outside
    [min_value, max_value] or null.
#}
{% test predicted_value_within_range(model, column_name, min_value, max_value) %}
    with

    latest_rows as (
        {{ rows_of_latest_run(model) }}
    ),

    final as (
        select *
        from latest_rows
        where
            {{ column_name }} is null
            or {{ column_name }} < {{ checked_value("min_value", min_value) }}
            or {{ column_name }} > {{ checked_value("max_value", max_value) }}
    )

    select * from final
{% endtest %}
