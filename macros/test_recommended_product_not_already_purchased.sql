{#
    Why: recommending what a customer already bought is the classic sign of a
    recommender nobody checks. Fails on rows of the latest run whose
    (customer, product) appears in the purchases.
#}
{% test recommended_product_not_already_purchased(model, column_name, purchases) %}
    with

    latest_rows as (
        {{ rows_of_latest_run(model) }}
    ),

    final as (
        select latest_rows.*
        from latest_rows
        inner join {{ purchases }} as purchases
            on
                latest_rows.customer_id = purchases.customer_id
                and latest_rows.{{ column_name }} = purchases.product_id
    )

    select * from final
{% endtest %}
