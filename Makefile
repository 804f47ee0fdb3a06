# The two commands a newcomer needs: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Without a tailnet there is no Tailscale login: production batches written from this machine (the API
# from loopback, `make import-batches`) are recorded as written by this name (app/bi/writers.py).
LOCAL_WRITER ?= local-operator

.PHONY: run test lint types pytest bench eval-chat sample-data import-batches venv services lock clean

venv:
	@bash scripts/setup.sh venv

services:
	@bash scripts/setup.sh services

## make lock: regenerate the hashed locks from constraints.txt (PyPI's sha256 of every file)
#   requirements.lock      everything the virtualenv holds (app, infra, dev tools, pip, setuptools)
#   app/requirements.lock  what the app image installs (the app's own dependencies)
# constraints.txt is the one place versions are chosen; the locks add hashes and are never edited by
# hand. PIP_CONFIG_FILE=/dev/null: the locks come from PyPI alone, whatever this machine's pip uses.
LOCK_ENV := PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= CUSTOM_COMPILE_COMMAND="make lock"
LOCK_ARGS := --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
    --index-url https://pypi.org/simple --constraint constraints.txt
lock: venv
	$(LOCK_ENV) $(VENV)/bin/pip-compile $(LOCK_ARGS) --allow-unsafe --all-extras --all-build-deps \
	  --output-file requirements.lock pyproject.toml
	$(LOCK_ENV) $(VENV)/bin/pip-compile $(LOCK_ARGS) --output-file app/requirements.lock pyproject.toml

## make run: start the app on http://127.0.0.1:8000 with its embedded defaults
# Without a tailnet there is no Tailscale identity: this machine's own browser may read the analytics.
run: venv
	CF_ANALYTICS_ALLOW_LOCAL=$${CF_ANALYTICS_ALLOW_LOCAL:-true} CF_PRODUCTION_LOCAL_WRITER=$(LOCAL_WRITER) \
		$(PY) -m app --host $(HOST) --port $(PORT)

## make sample-data: load the labelled sample dataset into the local database
sample-data: venv
	$(PY) -m app.bi.sample_data

## make import-batches FILE=batches.csv: import production batches as the local writer
import-batches: venv
	CF_PRODUCTION_LOCAL_WRITER=$(LOCAL_WRITER) $(PY) -m app.bi.import_production --as $(LOCAL_WRITER) $(FILE)

## make test: lint, types and every test layer (services are installed and started first)
test: venv services lint types pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: venv
	$(VENV)/bin/mypy

# Extra arguments: make pytest ARGS="tests/infra -x"
pytest: venv
	$(PY) -m pytest $(ARGS)

## make bench: measure speed and memory, write build/bench/report.json
bench: venv services
	$(PY) -m tests.bench

## make eval-chat: score the assistant on 45 questions (scripted model, keyword path; the real model
## too when ANTHROPIC_API_KEY is set); writes build/eval/report.md and report.json
eval-chat: venv
	$(PY) -m tests.eval.chat --out build/eval

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
