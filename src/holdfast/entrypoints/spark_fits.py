"""The two fits on Spark (Databricks): sample on Spark, fit on the driver.

`spark_segment_models_model` and `spark_recommender_models_model` take the
same arguments as their DuckDB twins in `entrypoints.steps` (the thin files in
python_models/ pick one by the session dbt hands them) and return the same
one-row model table as a Spark DataFrame. Both run the very same fit code
(`segment_fit.fit_segments`, `recommender_fit.fit_recommenders`): the
population count, the newest model, the refit decision, the catalog
fingerprint and the deterministic sample (`sha2(seed || ':' || customer_id,
256)`, the same hex digest as DuckDB's `sha256`, so the same customers in the
same order) are Spark SQL over temp views; only the sample (at most
`segment_factor_sample_size` or `recommender_fit_sample_size` customers) and
the catalog are collected to the driver, where the application code fits the
model. The artifact (`model_blob`,
`model_checksum`) is the one DuckDB writes for the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from holdfast.entrypoints.steps import recommender_fit, segment_fit
from holdfast.entrypoints.steps._fit_queries import SPARK_DIALECT
from holdfast.infrastructure import spark_io
from holdfast.settings import PipelineSettings


class SparkFitQueries:
    """The fits' SQL on a SparkSession; results collected to the driver."""

    dialect = SPARK_DIALECT

    def __init__(self, session: Any) -> None:
        self.session = session

    def view(self, relation: Any, name: str) -> str:
        return spark_io.view(self.session, relation, name)

    def first_row(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return spark_io.first_row(self.session, sql, list(params))

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        frame = self.session.sql(sql, args=list(params)) if params else self.session.sql(sql)
        return spark_io.collect_arrow(frame)


def spark_segment_models_model(
    session: Any,
    *,
    profiles: Any,
    products: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> Any:
    """int_segment_models on Spark: a new fitted model when the refit policy
    says so (else no row)."""
    table = segment_fit.fit_segments(
        SparkFitQueries(session),
        profiles=profiles,
        products=products,
        this=this,
        settings=settings,
        run=spark_io.run_context(session, runs),
    )
    return spark_io.from_arrow(session, table)


def spark_recommender_models_model(
    session: Any,
    *,
    embeddings: Any,
    statistics: Any,
    profiles: Any,
    segmented: Any,
    segment_models: Any,
    runs: Any,
    this: str | None,
    settings: PipelineSettings,
) -> Any:
    """int_recommender_models on Spark: a new fitted recommender when the
    refit policy says so (else no row)."""
    table = recommender_fit.fit_recommenders(
        SparkFitQueries(session),
        inputs={
            "embeddings": embeddings,
            "statistics": statistics,
            "profiles": profiles,
            "segmented": segmented,
            "segment_models": segment_models,
        },
        this=this,
        settings=settings,
        run=spark_io.run_context(session, runs),
    )
    return spark_io.from_arrow(session, table)
