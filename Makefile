# Rapport: `make run` serves the app with demo data; `make test` runs the whole suite.
# Both start from a fresh clone: they create .venv and install the locked dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
INSTALLED := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: install run test lint format migrate demo lock clean bench loadtest scaleout
.PHONY: drills backup restore bench-reminders

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the lock file changes; --require-hashes makes installs reproducible.
$(INSTALLED): requirements/dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check --quiet --require-hashes -r requirements/dev.lock
	touch $@

# axe-core for the accessibility browser test (package.json pins it; no CDN at test time).
# Reinstall only when the npm lock file changes.
NODE_INSTALLED := node_modules/.installed
$(NODE_INSTALLED): package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: $(INSTALLED)

# The performance tools (locust) only for the targets that need them.
BENCH_INSTALLED := $(VENV)/.installed-bench
$(BENCH_INSTALLED): requirements/bench.lock $(INSTALLED)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet --require-hashes -r requirements/bench.lock
	touch $@

migrate: install
	python manage.py migrate --noinput

demo: migrate
	python manage.py seed_demo --scale small

## run: migrate, load the demo data and serve at http://127.0.0.1:8000 (PORT=8080 for another
## port, DEBUG=1 for Django's debug pages) with a Celery worker and beat (Ctrl-C stops all)
run: install
	python scripts/run.py

## test: lint, format check and the whole pytest suite (needs Node.js's npm for axe-core)
test: install $(NODE_INSTALLED)
	ruff check .
	ruff format --check .
	pytest -n auto

## bench: every page cold and warm on the small and large datasets, throughput; ARGS="--xlarge"
bench: $(BENCH_INSTALLED)
	python -u bench/run.py $(ARGS)

## bench-reminders: time the first reminder catch-up on a copy of the large dataset
bench-reminders: install
	python -u bench/reminders.py $(ARGS)

## loadtest: 50 simulated users for 2 minutes against gunicorn + PostgreSQL + Redis + a worker
loadtest: $(BENCH_INSTALLED)
	python -u bench/loadtest.py $(ARGS)

## scaleout: two web instances and two workers sharing one database and broker, reports on a streaming replica
scaleout: $(BENCH_INSTALLED)
	python -u bench/scaleout.py

## drills: fault drills on private PostgreSQL/Redis (restarts, kills, backup/restore); ARGS="pg_restart"
drills: install
	python -u drills/run.py $(ARGS)

## backup: pg_dump (custom format) of DATABASE_URL into var/backups/rapport-<time>.dump
backup: install
	python drills/backup.py backup $(if $(SNAPSHOT),--snapshot "$(SNAPSHOT)")

## restore: make restore FILE=var/backups/….dump [TARGET_DATABASE_URL=…] [FORCE=1]
restore: install
	python drills/backup.py restore "$(FILE)" $(if $(filter 1 true yes,$(FORCE)),--force)

lint: install
	ruff check .
	ruff format --check .

format: install
	ruff check --fix .
	ruff format .

## lock: re-resolve pyproject.toml into the hash-pinned lock files
lock: install
	$(BIN)/python -m pip install --quiet uv
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -q -o requirements/base.lock
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -q -o requirements/dev.lock
	uv pip compile pyproject.toml --extra dev --extra bench --generate-hashes --python-version 3.11 -q -o requirements/bench.lock

clean:
	rm -rf $(VENV) var staticfiles
