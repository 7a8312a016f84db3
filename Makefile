# Courtyard — two commands for a newcomer: `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL

.PHONY: demo test test-sqlite test-postgres bench lint install dev-install sysdeps browser translations clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The package and its runtime dependencies; stamp follows pyproject.toml.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed sysdeps translations
dev-install: $(VENV)/.dev-installed sysdeps translations browser

# System packages WeasyPrint needs (Pango) and a CJK font, installed only where missing.
sysdeps:
	@bash scripts/sysdeps.sh

# Debian's Chromium for the end-to-end tests (Playwright cannot download browsers here).
browser:
	@bash scripts/sysdeps.sh chromium

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -d app/translations --use-fuzzy >/dev/null

demo: install
	$(FLASK) db upgrade
	$(FLASK) demo
	HOST=$(HOST) PORT=$(PORT) bash scripts/demo-serve.sh

test: dev-install
	@bash scripts/run-tests.sh

bench: dev-install
	$(BIN)/python bench/run.py

lint: dev-install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check app elections tenders tests bench || true

clean:
	rm -rf $(VENV) instance/*.db
