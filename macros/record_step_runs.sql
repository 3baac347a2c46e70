{#
    Why: pipeline health needs the outcome of every dbt node of every run
    (status, time, rows), and dbt only knows them at the end of the run. This
    on-run-end hook appends them to ops.dbt_step_results (created by
    `create_step_results_table` on run start); the model ops_step_runs exposes
    them with lineage. Messages are truncated and never carry secrets: dbt's
    messages name relations, not credentials.
#}
{% macro record_step_runs(results) -%}
    {{ return(adapter.dispatch('record_step_runs', 'holdfast')(results)) }}
{%- endmacro %}

{% macro default__record_step_runs(results) -%}
    {%- if execute and results | length > 0 -%}
        {{ create_step_results_table() }};
        insert into ops.dbt_step_results
        values
        {%- for result in results %}
            (
                '{{ invocation_id }}',
                {{ run_started_at_utc() }},
                '{{ result.node.unique_id }}',
                '{{ result.node.resource_type }}',
                '{{ result.node.name }}',
                '{{ result.status }}',
                {{ result.execution_time or 0 }},
                {{ (result.adapter_response or {}).get('rows_affected', 'null') or 'null' }},
                {{ result.failures if result.failures is not none else 'null' }},
                '{{ (result.message or '') | string | replace("'", "''") | truncate(500) }}',
                now()
            ){{ "," if not loop.last }}
        {%- endfor %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
