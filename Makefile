# The two commands a newcomer needs: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint types pytest bench eval-chat sample-data venv services clean

venv:
	@bash scripts/setup.sh venv

services:
	@bash scripts/setup.sh services

## make run: start the app on http://127.0.0.1:8000 with its embedded defaults
# Without a tailnet there is no Tailscale identity: this machine's own browser may read the analytics.
run: venv
	CF_ANALYTICS_ALLOW_LOCAL=$${CF_ANALYTICS_ALLOW_LOCAL:-true} $(PY) -m app --host $(HOST) --port $(PORT)

## make sample-data: load the labelled sample dataset into the local database
sample-data: venv
	$(PY) -m app.bi.sample_data

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
