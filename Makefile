PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint bench snapshots clean

install:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'

test:
	$(BIN)/pytest -q

lint:
	$(BIN)/ruff check vastjob tests bench
	$(BIN)/mypy

bench:
	$(BIN)/python -m bench

snapshots:
	$(BIN)/pytest -q --snapshot-update

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
