# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2
# Threads per gunicorn worker: a slow client holds one thread, never a whole worker.
THREADS ?= 8
INSTANCE := instance
FLASK := $(BIN)/flask --app wsgi
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export LMS_TEST_DATABASE_URL ?= $(PG_URL)

.PHONY: help install install-test lock lock-uv messages page-checkers run settings setup test test-pages lint format bench screenshots clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Every package comes from a lock file, pinned with its hashes (pip itself and the build
# backend too: the tracker is built without fetching anything); `make lock` writes them from
# pyproject.toml. A lock older than pyproject.toml's lists stops the install with one line.
PIP_LOCKED := $(BIN)/python -m pip install --quiet --require-hashes --no-deps -r

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/activate
	@$(BIN)/python tests/lockfiles.py check --digest-only
	$(PIP_LOCKED) requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements-test.lock $(VENV)/.installed
	@$(BIN)/python tests/lockfiles.py check --digest-only
	$(PIP_LOCKED) requirements-test.lock
	$(BIN)/python -m pip check
	touch $@

install: $(VENV)/.installed  ## Create .venv and install the tracker (from requirements.lock)

install-test: $(VENV)/.installed-test  ## Install what the tests need (Python side, requirements-test.lock)

$(BIN)/uv: requirements-uv.txt | $(BIN)/activate
	$(PIP_LOCKED) requirements-uv.txt
	touch $@

UPGRADE ?=

lock: $(BIN)/uv  ## Pin pyproject.toml's dependencies with hashes into requirements*.lock (UPGRADE=1: newest allowed)
	$(BIN)/python tests/lockfiles.py write --uv $(BIN)/uv $(if $(filter-out 0,$(UPGRADE)),--upgrade)

lock-uv: $(BIN)/uv  ## Pin another uv for `make lock` (UV_VERSION=X.Y.Z) in requirements-uv.txt
	$(BIN)/python tests/lockfiles.py write-uv --uv $(BIN)/uv --version "$(UV_VERSION)"

# Development settings (secret key, screening key, public URL, LMS_ENV=development) live in
# instance/settings.toml, owner-only, made once and updated (the public URL follows PORT);
# the app and every `flask --app wsgi ...` command read it, below real environment variables.
# Keys from an older instance/secret_key and instance/screening_key are carried over.
# The Open Badges signing key (Ed25519) is made once beside it, owner-only, in
# instance/credential_keys/ (`flask --app wsgi lms credentials rotate-key` replaces it).
settings: $(VENV)/.installed  ## Write or update instance/settings.toml and make the signing key (development settings)
	@$(BIN)/python -m lms.instance_settings --instance $(INSTANCE) \
		--public-url "$${LMS_PUBLIC_URL:-http://127.0.0.1:$(PORT)}"
	@$(BIN)/python -m lms.badges.keys --instance $(INSTANCE)

setup: settings  ## Migrate, load the catalogue and demo data
	$(FLASK) db upgrade
	$(FLASK) lms catalog load --default
	$(FLASK) lms demo

# The job consumer (certificate PDFs, mail) runs beside gunicorn; Ctrl-C stops both, and the
# trap stops the consumer too when gunicorn exits on its own (a busy port, say).
run: setup  ## Set everything up, start the job consumer and serve on http://127.0.0.1:$(PORT)
	@echo "Serving on http://127.0.0.1:$(PORT) with a job consumer (Ctrl-C stops both)"
	@$(FLASK) lms jobs worker & consumer=$$!; \
	trap 'kill $$consumer 2>/dev/null; wait $$consumer 2>/dev/null' EXIT; \
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers $(WORKERS) --worker-class gthread \
		--threads $(THREADS) --access-logfile - wsgi:app

test: $(VENV)/.installed-test  ## Lint, then run the whole suite on SQLite and PostgreSQL
	@bash tests/run-suite.sh

# The words people read are written in British spelling; the catalogue of each other locale
# (lms/translations/<locale>/LC_MESSAGES/messages.po) gives that locale's spelling. The
# tracker compiles the .po files itself when it starts: there is no build step.
messages: $(VENV)/.installed  ## Add newly wrapped strings (_(), translate, lazy_gettext) to the .po files
	$(BIN)/pybabel -q extract -F babel.cfg -k translate -k lazy_gettext -k marked --no-location \
		--sort-output --project kap-lms -o $(INSTANCE)/messages.pot .
	$(BIN)/pybabel -q update -i $(INSTANCE)/messages.pot -d lms/translations \
		--no-fuzzy-matching --ignore-obsolete
	@rm -f $(INSTANCE)/messages.pot
	@grep -B1 '^msgstr ""$$' lms/translations/*/LC_MESSAGES/messages.po | grep '^msgid "[^"]' \
		&& echo "Fill in the msgstr of the strings above." || true

page-checkers:  ## Install axe-core and the Nu Html Checker into .tools/ (once; make test does it)
	@bash tests/install-page-checkers.sh

# The page walk is a browser test: those run on SQLite.
test-pages: export LMS_TEST_BACKEND = sqlite
test-pages: $(VENV)/.installed-test page-checkers  ## Only the accessibility, HTML and width checks of every page
	$(BIN)/pytest -p no:cacheprovider tests/browser/test_pages_accessible.py

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

screenshots: $(VENV)/.installed-test  ## Take the README's pictures again (docs/*.png) from the demo data in Chromium
	$(BIN)/python docs/screenshots.py

clean:  ## Remove the virtualenv and local data
	rm -rf $(VENV) $(INSTANCE) .pytest_cache .tools
