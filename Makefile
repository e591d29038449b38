# Rapport: `make run` serves the app with demo data; `make test` runs the whole suite.
# Both start from a fresh clone: they create .venv and install the locked dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
INSTALLED := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: install run serve test lint format migrate demo lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the lock file changes; --require-hashes makes installs reproducible.
$(INSTALLED): requirements/dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check --quiet --require-hashes -r requirements/dev.lock
	touch $@

install: $(INSTALLED)

migrate: install
	python manage.py migrate --noinput

demo: migrate
	python manage.py seed_demo --scale small

## run: set up and serve at http://127.0.0.1:8000 with a Celery worker and beat (Ctrl-C stops all)
run: demo serve

serve: install
	honcho --procfile Procfile.dev start

## test: lint, format check and the whole pytest suite
test: install
	ruff check .
	ruff format --check .
	pytest

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

clean:
	rm -rf $(VENV) var staticfiles
