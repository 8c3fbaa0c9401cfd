# The two commands of the README. Each sets up .venv (Python 3.11+) on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint clean setup bench bench-quick

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "rfm_spark needs Python 3.11 or newer; set PYTHON=python3.11 (found " + sys.version.split()[0] + ")")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# `rfm-spark run` never writes into a landing: the sample is generated here, once.
run: $(STAMP)
	@test -d data/raw || $(BIN)/rfm-spark generate --out data/raw
	$(BIN)/rfm-spark run --report

test: $(STAMP)
	$(BIN)/python -m pytest

# Benchmarks (timings are reported, never asserted): 10M orders, and a quick 1M variant.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run_bench.py --orders 10000000 --scale 1000000,3000000,10000000

bench-quick: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run_bench.py --orders 1000000 --scale 300000,1000000

lint: $(STAMP)
	$(BIN)/ruff check rfm_spark jobs tests

clean:
	rm -rf data spark-warehouse metastore_db derby.log .pytest_cache
