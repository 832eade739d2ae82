# Two commands: `make demo` runs the hub with its sandbox; `make test` runs the test suite.
# Point at other servers with DATABASE_URL, REDIS_URL and SANDBOX_URL (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: venv db demo test lint format bench

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

db: venv
	$(PY) scripts/ensure_database.py
	$(PY) manage.py setup_hub

demo: db
	bash scripts/demo.sh

test: venv
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Benchmarks (each starts its own servers on ports 8930-8949 and prints one JSON line).
bench: venv
	$(PY) bench/webhook_ingest.py
	$(PY) bench/pipeline_throughput.py --orders 2000 --workers 2
	$(PY) bench/provision_tenant.py --existing 1,50,200
