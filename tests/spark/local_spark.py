"""The harness's local Spark: one session configuration, and the Python models' tables.

dbt-spark cannot submit Python models to open-source Spark, so before the SQL
models downstream of them are built on `spark_local`, the Python models'
tables are written into the Spark warehouse from the DuckDB build (Parquet
files exported by DuckDB). The SQL models on both engines then read the same
Python rows, and their own rows must be equal; the Python models' Spark
branches are compared with DuckDB on their own (test_spark_matches_duckdb.py).

Run as a script (`python local_spark.py SPARK_DIR PARQUET_DIR`) it writes one
table per Parquet file `<schema>.<table>.parquet` and exits: a separate
process, because the Derby metastore admits one JVM at a time and the dbt
build that follows is another.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def local_session(spark_dir: Path):
    """A local[2] SparkSession on the warehouse and metastore under spark_dir,
    configured as the `spark_local` target (profiles.yml)."""
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers import holdfast from this venv
    return (
        SparkSession.builder.master("local[2]")
        .appName("holdfast-spark-harness")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.warehouse.dir", str(spark_dir / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={spark_dir}/metastore")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "100")
        .enableHiveSupport()
        .getOrCreate()
    )


def write_tables(spark_dir: Path, parquet_dir: Path) -> list[str]:
    """One Spark table per `<schema>.<table>.parquet` file; returns their names."""
    spark = local_session(spark_dir)
    written = []
    try:
        for path in sorted(parquet_dir.glob("*.parquet")):
            name = path.name.removesuffix(".parquet")
            schema = name.split(".")[0]
            spark.sql(f"create database if not exists {schema}")
            spark.read.parquet(str(path)).write.mode("overwrite").format("parquet").saveAsTable(
                name
            )
            written.append(name)
    finally:
        spark.stop()
    return written


if __name__ == "__main__":
    names = write_tables(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(names))
