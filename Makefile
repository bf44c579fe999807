# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2
INSTANCE := instance
FLASK := $(BIN)/flask --app wsgi
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export LMS_TEST_DATABASE_URL ?= $(PG_URL)

.PHONY: help install install-test run setup test lint format bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed  ## Create .venv and install the tracker

install-test: $(VENV)/.installed-test  ## Install what the tests need (Python side)

# Secrets for the local demo server, made once and kept in instance/ (never committed).
$(INSTANCE)/secret_key:
	@mkdir -p $(INSTANCE)
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > $@

$(INSTANCE)/screening_key: $(VENV)/.installed
	@mkdir -p $(INSTANCE)
	@$(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > $@

DEV_ENV = LMS_ENV=development \
	LMS_SECRET_KEY="$$(cat $(INSTANCE)/secret_key)" \
	LMS_SCREENING_KEY="$$(cat $(INSTANCE)/screening_key)" \
	LMS_PUBLIC_URL="$${LMS_PUBLIC_URL:-http://127.0.0.1:$(PORT)}"

setup: $(VENV)/.installed $(INSTANCE)/secret_key $(INSTANCE)/screening_key  ## Migrate, load the catalogue and demo data
	$(DEV_ENV) $(FLASK) db upgrade
	$(DEV_ENV) $(FLASK) lms catalog load --default
	$(DEV_ENV) $(FLASK) lms demo

# The job consumer (certificate PDFs, mail) runs beside gunicorn; Ctrl-C stops both, and the
# trap stops the consumer too when gunicorn exits on its own (a busy port, say).
run: setup  ## Set everything up, start the job consumer and serve on http://127.0.0.1:$(PORT)
	@echo "Serving on http://127.0.0.1:$(PORT) with a job consumer (Ctrl-C stops both)"
	@$(DEV_ENV) $(FLASK) lms jobs worker --workers $(WORKERS) & consumer=$$!; \
	trap 'kill $$consumer 2>/dev/null; wait $$consumer 2>/dev/null' EXIT; \
	$(DEV_ENV) $(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers $(WORKERS) --access-logfile - wsgi:app

test: $(VENV)/.installed-test  ## Lint, then run the whole suite on SQLite and PostgreSQL
	@bash tests/run-suite.sh

lint: $(VENV)/.installed-test  ## ruff check + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test  ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

BENCH_DB ?= sqlite
QUICK ?=

bench: $(VENV)/.installed-test  ## Measure speed against the targets (BENCH_DB=postgresql, QUICK=1 for a short run)
	$(BIN)/python -m bench.run --db $(BENCH_DB) $(if $(filter-out 0,$(QUICK)),--quick)

clean:  ## Remove the virtualenv and local data
	rm -rf $(VENV) $(INSTANCE) .pytest_cache
