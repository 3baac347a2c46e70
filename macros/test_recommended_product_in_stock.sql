{#
    Why: recommending what cannot be bought wastes the slot and the customer's
    trust. Fails on rows of the latest run whose product is missing from the
    catalog or has stock_quantity <= 0.
#}
{% test recommended_product_in_stock(model, column_name, products) %}
    with

    latest_rows as (
        {{ rows_of_latest_run(model) }}
    ),

    final as (
        select latest_rows.*
        from latest_rows
        left join {{ products }} as products
            on latest_rows.{{ column_name }} = products.product_id
        where products.product_id is null or products.stock_quantity <= 0
    )

    select * from final
{% endtest %}
