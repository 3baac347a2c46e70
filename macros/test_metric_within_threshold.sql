{#
    Why: mon_model_performance holds every model metric as a row (metric,
    metric_value). This test returns this run's rows of one metric above a
    threshold (a dbt var), so each threshold is a named test with its own
    severity and earlier runs' breaches do not warn again on every build.
#}
{% test metric_within_threshold(model, column_name, metric, threshold) %}
    select *
    from {{ model }}
    where
        metric = '{{ metric }}'
        and run_id = '{{ invocation_id }}'
        and {{ column_name }} > {{ threshold }}
{% endtest %}
