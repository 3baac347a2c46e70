{#
    Why: the four Python inference steps write the same status and telemetry
    columns, one row per record; the dead-letter queue and the per-call
    telemetry read them all alike. One place names the steps and their keys.
#}
{% macro inference_step_rows() -%}
    {%- set steps = [
        ('embed_products', 'int_products_embedded', 'product_id'),
        ('vectorize_customers', 'int_customer_vectors', 'customer_id'),
        ('assign_segments', 'int_customers_segmented', 'customer_id'),
        ('recommend', 'int_recommendations_scored', 'customer_id'),
    ] -%}
    {%- for step, model_name, key in steps %}
    select
        '{{ step }}' as step,
        {{ key }} as record_key,
        status,
        failure_reason,
        error_message,
        failed_runs,
        attempts,
        inference_batch_number,
        batch_latency_ms,
        batch_attempts,
        run_id,
        processed_at
    from {{ ref(model_name) }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
{%- endmacro %}
