{#
    Why: a batch with many invalid lines usually means an upstream change, not
    bad luck. Returns the batches whose error rate is above the threshold
    (var schema_error_rate_alert); configured with severity warn, so the build
    goes on and says so, while ops_alerts records the breach once.
#}
{% test batch_error_rate_within_threshold(model, column_name, threshold) %}
    select
        batch_id,
        source,
        rows_in,
        rows_invalid,
        {{ column_name }}
    from {{ model }}
    where {{ column_name }} > {{ checked_value("threshold", threshold) }}
{% endtest %}
