# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# `make run` needs the runtime only; the test and lint tools come with `make test` / `make lint`.
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: run test install install-runtime lint typecheck services services-down bench clean

$(RUNTIME): pyproject.toml
	@echo "==> [1/3] creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] updating pip"
	$(PY) -m pip install --upgrade --progress-bar on pip
	@echo "==> [3/3] installing TechScanIQ and its runtime dependencies (first run: a minute or two)"
	$(PY) -m pip install --progress-bar on -e .
	touch $(RUNTIME)

$(DEV): $(RUNTIME)
	@echo "==> installing the test and lint tools (the dev extra)"
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(DEV)

install-runtime: $(RUNTIME)

install: $(DEV)

run: $(RUNTIME)
	$(PY) start_monitoring_system.py

lint: $(DEV)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

test: $(DEV)
	bash scripts/test.sh

services:
	bash scripts/services.sh start

services-down:
	bash scripts/services.sh stop

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
