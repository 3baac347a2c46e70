"""What operators run around the pipeline: the steps of `holdfast run` after `dbt build`
(deliver alerts, publish the analysts' snapshot, write the report) and the readers of
`holdfast query|summary|report|dlq`."""
