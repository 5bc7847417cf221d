# HydroSpark: `make run` sets everything up and serves the demo site; `make test` runs the suite.
SHELL := /bin/bash
PORT ?= 8000
# Links in emails (bills, password resets) point at the address the site is served on.
SITE_URL ?= http://127.0.0.1:$(PORT)
VENV := .venv
PY := $(VENV)/bin/python
# Django 6.1 needs Python >= 3.12: take the first one found on PATH or under ~/.pyenv/versions/.
PYTHON ?= $(shell for c in python3.13 python3.12 python3.14 python3; do \
	  p=$$(command -v $$c 2>/dev/null) && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit; }; \
	done; for p in $$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit; }; done)
STAMP := $(VENV)/.installed
DEV_ENV := DEBUG=1

# axe-core, the accessibility audit the browser tests inject into chromium (README: Accessibility), from npm.
AXE_VERSION := 4.14.1
AXE_JS := .cache/axe/node_modules/axe-core/axe.min.js

.PHONY: run test bench lint prod-check worker setup browsers axe clean-db help

help:
	@echo "make run    - set up .venv, migrate, load demo data, serve http://127.0.0.1:$(PORT) with the task worker"
	@echo "make test   - set up .venv and run the test suite"
	@echo "make bench  - run the benchmarks (see bench/README.md)"
	@echo "make lint   - ruff"
	@echo "make prod-check - Django's deployment checks with production settings, and no migration left to write"

$(PY):
	@if [ -z "$(PYTHON)" ]; then \
	  echo "No Python >= 3.12 found on PATH or under ~/.pyenv/versions/. Install Python 3.13 (e.g. 'pyenv install 3.13' or your OS package python3.13) and retry."; \
	  exit 1; fi
	@echo ">> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	@echo ">> installing HydroSpark and its dependencies into $(VENV)"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@if pkg-config --exists mysqlclient 2>/dev/null || command -v mysql_config >/dev/null 2>&1; then \
	  echo ">> MySQL/MariaDB client headers found: installing mysqlclient"; \
	  $(PY) -m pip install --quiet -e ".[mysql]"; fi
	@touch $(STAMP)

setup: $(STAMP)

run: DEV_ENV += SITE_URL=$(SITE_URL)
run: $(STAMP)
	@echo ">> applying database migrations"
	$(DEV_ENV) $(PY) manage.py migrate --no-input
	@echo ">> loading the demo data if the database is empty (about a minute the first time)"
	$(DEV_ENV) $(PY) manage.py seed_demo --if-empty
	@echo ">> starting the background task worker and the web server on http://127.0.0.1:$(PORT)"
	@echo ">> demo logins (password 'password123'): ops@hydrospark.com billing@hydrospark.com support@hydrospark.com noah@example.com"
	@$(DEV_ENV) $(PY) manage.py fail_stalled_runs >/dev/null
	@$(DEV_ENV) $(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload

worker: $(STAMP)
	$(DEV_ENV) $(PY) manage.py db_worker

test: $(STAMP) axe
	@echo ">> running the test suite against $${DATABASE_URL:-SQLite (in memory)}"
	$(VENV)/bin/pytest $(PYTEST_ARGS)

browsers:
	@command -v chromium >/dev/null 2>&1 || { echo ">> installing Debian's chromium for browser tests"; \
	  (apt-get update -q && apt-get install -y -q chromium) >/dev/null || echo "!! could not install chromium: browser tests will be skipped"; }

axe:
	@if [ -f $(AXE_JS) ] && grep -q '"version": "$(AXE_VERSION)"' .cache/axe/node_modules/axe-core/package.json; then :; \
	elif command -v npm >/dev/null 2>&1; then echo ">> installing axe-core $(AXE_VERSION) into .cache/axe"; \
	  npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@$(AXE_VERSION) \
	  || echo "!! npm could not install axe-core: the accessibility tests will be skipped"; \
	else echo "!! npm not found: the accessibility (axe) tests will be skipped (install Node.js and npm)"; fi

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Production settings as a deployment has them (DEBUG off, a real-length key made for this run, one host name);
# any warning fails. Then the models must have every migration written. DATABASE_URL is taken from the environment.
PROD_ENV = DEBUG=0 ALLOWED_HOSTS=water.example.com SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')

prod-check: $(STAMP)
	@echo ">> manage.py check --deploy with production settings"
	$(PROD_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	@echo ">> every model change has its migration"
	$(PROD_ENV) $(PY) manage.py makemigrations --check --dry-run

clean-db:
	rm -f var/hydrospark.sqlite3 var/hydrospark.sqlite3-*
