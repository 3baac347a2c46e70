{#
    Why: monitoring models mark each threshold breach as a boolean column
    (is_count_anomaly, is_file_stale, ...), computed once with the threshold
    var. This test returns the rows where the flag is raised, so `dbt build`
    shows the breach under the test's name (configured with severity warn:
    the pipeline goes on, ops_alerts records it once).
#}
{% test flag_not_raised(model, column_name) %}
    select *
    from {{ model }}
    where {{ column_name }}
{% endtest %}
