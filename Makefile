# Two commands do everything on a fresh machine:
#   make run   - virtualenv, requirements, SQLite database, demo data (with a blood-station export
#                reconciled), server on 127.0.0.1:8000 and the background worker beside it
#                (another port: make run PORT=8001)
#   make test  - virtualenv, requirements, the test suite in JOBS processes (PostgreSQL when
#                DATABASE_URL is set); the browser journeys and the whole-demo backup round trip
#                are `make test-e2e` (CI runs both)
PYTHON ?= python3
PORT ?= 8000
# Test processes (pytest-xdist): one per core.
JOBS ?= auto
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-e2e test-clock lint install messages ci

$(STAMP): requirements.txt requirements-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py load_station_demo
	@# The background worker reads scanned notices by OCR (quotas/tasks.py); it stops with the server.
	$(PY) manage.py db_worker --no-reload & worker=$$!; trap 'kill $$worker' EXIT INT TERM; \
	DJANGO_DEBUG=true $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	$(PY) -m pytest -n $(JOBS) -m "not slow and not browser"

# The end-to-end tests: browser journeys in Chromium and the backup round trip of the whole demo.
test-e2e: $(STAMP)
	$(PY) -m pytest -n $(JOBS) -m "slow or browser"

# The suite as if today were CLOCK (YYYY-MM-DD): no test may depend on today's date.
# The property tests run fewer cases here: the full run already tries 500 of them.
test-clock: $(STAMP)
	PROPERTY_EXAMPLES=100 $(PY) -m pytest -n $(JOBS) -q -m "not slow" --clock $(CLOCK)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

messages: $(STAMP)
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv
	$(PY) manage.py compilemessages --ignore=.venv
