# coachloop: `make run` serves the demo, `make test` runs every check. Both set everything up.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COACHLOOP_HOME ?= $(CURDIR)/var
export COACHLOOP_HOME
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
STAMP := $(VENV)/.installed

.PHONY: help run test venv lint typecheck chromium clean

help:
	@echo "make run    set up, build the demo when the database is empty, serve http://127.0.0.1:8000"
	@echo "make test   set up, lint, type-check, test on SQLite and PostgreSQL (browser tests included)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

run: venv
	$(BIN)/coachloop migrate --noinput
	$(BIN)/coachloop demo --if-empty

test: venv
	@bash scripts/test.sh

chromium:
	@bash scripts/ensure-chromium.sh

lint: venv
	$(BIN)/ruff check src bench
	$(BIN)/ruff format --check src bench

typecheck: venv
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
