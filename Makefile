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

.PHONY: install demo run test lint format unit e2e docs clean bench

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

clean:
	rm -rf target logs data/warehouse .pytest_cache
