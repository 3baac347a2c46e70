{#
    Why: several grains are a pair of columns (customer, product; customer,
    rank). dbt has no built-in test for that and dbt_utils cannot be installed
    here. Returns the combinations that occur more than once.
#}
{% test unique_combination_of_columns(model, columns) %}
    select
        {{ columns | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
