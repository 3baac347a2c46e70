# holdfast: `make demo` runs the pipeline on sample data; `make test` runs
# linters and the whole test suite. Both install into .venv first if needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install demo run test lint format unit e2e docs clean bench test-spark

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# torch first, from the local CPU wheel: any other torch pulls GBs of CUDA
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,onnx]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/holdfast demo

run: install
	$(BIN)/holdfast run

lint: install
	$(BIN)/ruff check src tests python_models bench
	$(BIN)/ruff format --check src tests python_models bench
	HOLDFAST_DUCKDB_PATH=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff lint models tests/dbt

format: install
	$(BIN)/ruff format src tests python_models bench
	$(BIN)/ruff check --fix src tests python_models bench

test: install lint
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

e2e: install
	$(BIN)/pytest -m e2e

# the scale benchmark (one JSON document); CUSTOMERS=100000|500000|2000000, REPEATS=1..3
CUSTOMERS ?= 100000
REPEATS ?= 1
bench: install
	$(BIN)/python bench/scale.py --customers $(CUSTOMERS) --repeats $(REPEATS)

docs: install
	$(BIN)/dbt docs generate

# Spark: its own venv (.venv-spark, with the [spark] extra), so the default
# install stays lean. Needs Java 17+. Runs `dbt build --target spark_local` on
# the portable models and the harness comparing Spark with DuckDB
# (docs/spark.md); prints its wall time and peak memory as JSON.
SPARK_VENV := .venv-spark
SPARK_STAMP := $(SPARK_VENV)/.installed-stamp

$(SPARK_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
	# pyspark is a 456 MB source distribution built locally (a few minutes, once)
	$(SPARK_VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,spark]'
	touch $(SPARK_STAMP)

# dbt-databricks 1.11 needs dbt-spark 1.10 and dbt-core < 1.11.9, which the
# Spark venv's dbt-spark 1.11 excludes: it gets a small venv of its own, used
# only to parse the project for the `databricks` target (no connection).
DATABRICKS_VENV := .venv-databricks
DATABRICKS_STAMP := $(DATABRICKS_VENV)/.installed-stamp

$(DATABRICKS_STAMP):
	$(PYTHON) -m venv $(DATABRICKS_VENV)
	$(DATABRICKS_VENV)/bin/pip install --quiet --disable-pip-version-check 'dbt-core>=1.11,<1.12' 'dbt-databricks>=1.11,<1.12'
	touch $(DATABRICKS_STAMP)

test-spark: $(SPARK_STAMP) $(DATABRICKS_STAMP)
	@echo "test-spark: dbt parse --target databricks (dbt-databricks, no connection)"
	@DBT_PARSE_DIR=$$(mktemp -d) && DO_NOT_TRACK=1 DATABRICKS_TOKEN=parse-only \
		HOLDFAST_WHEEL_PATH=/Volumes/main/holdfast/libs/holdfast.whl \
		$(DATABRICKS_VENV)/bin/dbt parse --target databricks --profiles-dir . --project-dir . \
		--target-path $$DBT_PARSE_DIR/target --log-path $$DBT_PARSE_DIR/logs --quiet \
		&& rm -rf $$DBT_PARSE_DIR
	@command -v java >/dev/null 2>&1 || { echo "test-spark: java not found (Spark needs Java 17+)" >&2; exit 1; }
	@echo "test-spark: on Spark (dbt build --target spark_local --selector spark_portable):"
	@echo "  staging, validation, current state, int_product_statistics int_customer_purchase_profiles"
	@echo "  int_customer_scoring_inputs int_recommendation_candidates_checked dim_products fct_purchases"
	@echo "  fct_recommendations fct_rejected_recommendations fct_customer_segments ops_runs"
	@echo "  ops_inference_batches ops_dead_letter_queue mon_distribution_history mon_distribution_shift"
	@echo "  mon_model_performance ops_schema_errors ops_batch_ledger mon_input_quality ops_alerts"
	@echo "  dim_segments dim_customers ops_step_telemetry mon_pipeline_health"
	@echo "  stg_holdfast__dbt_step_results ops_step_runs, the seed, and their data tests (32 of 32)"
	@echo "test-spark: Spark branch on local pyspark, compared with DuckDB (6 of 6 Python models):"
	@echo "  mapInArrow: int_products_embedded int_customer_vectors int_customers_segmented"
	@echo "  int_recommendations_scored; sample on Spark, fit on the driver: int_segment_models"
	@echo "  int_recommender_models (docs/spark.md)"
	$(SPARK_VENV)/bin/python tests/spark/measured.py $(SPARK_VENV)/bin/pytest tests/spark -m spark -p no:cacheprovider

clean:
	rm -rf target logs data/warehouse .pytest_cache
