PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint bench snapshots clean

install:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,test]'
	@# The YAML language server editors run, pinned in tests/lsp: the editor-agreement test drives it.
	@if command -v npm >/dev/null; then npm ci --prefix tests/lsp --no-audit --no-fund --silent; \
	else echo "npm not found: tests/test_spec_editor.py will be skipped (and fail where CI=true)"; fi

test:
	$(BIN)/pytest -q

lint:
	$(BIN)/ruff check vastjob tests bench
	$(BIN)/ruff format --check vastjob tests bench
	$(BIN)/mypy

bench:
	$(BIN)/python -m bench

snapshots:
	$(BIN)/pytest -q --snapshot-update

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache tests/lsp/node_modules
