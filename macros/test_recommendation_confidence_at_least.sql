{#
    Why: below min_confidence the model is guessing; such recommendations must
    never reach customers. Fails on rows of the latest run under the minimum.
#}
{% test recommendation_confidence_at_least(model, column_name, minimum) %}
    with

    latest_rows as (
        {{ rows_of_latest_run(model) }}
    ),

    final as (
        select *
        from latest_rows
        where {{ column_name }} is null or {{ column_name }} < {{ checked_value("minimum", minimum) }}
    )

    select * from final
{% endtest %}
