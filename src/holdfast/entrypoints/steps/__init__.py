"""The composition root of the dbt Python models, one module per step.

Each module wires one model of python_models/inference/ to the application
layer: it selects the records that need work, builds the real adapters
(encoder, HDBSCAN, model store) and runs one application step, returning an
Arrow reader (or table) that dbt-duckdb streams into the model's table. The
thin model file reads its refs and `holdfast.settings.PipelineSettings` and
calls its step; `entrypoints.spark_models` holds the Spark twins.
"""
