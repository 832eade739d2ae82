# Two commands: `make demo` runs the hub with its sandbox; `make test` runs the test suite
# (`make test-fast`: the tests that start no other process, in under a minute).
# Point at other servers with DATABASE_URL, REDIS_URL and SANDBOX_URL (see README). Where none is
# set and nothing answers, scripts/services.py starts PostgreSQL and Redis (the machine's, or
# private ones under var/embedded/; HUB_EMBEDDED=1 asks for those) and stops what it started.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SERVICES := $(PY) scripts/services.py

.PHONY: venv db demo clean-demo test test-fast lint format bench

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

db: venv
	$(SERVICES) run -- bash -c '$(PY) scripts/ensure_database.py && $(PY) manage.py setup_hub'

demo: venv
	$(SERVICES) run -- bash scripts/demo.sh

# Stops the private PostgreSQL and Redis and removes var/ (their data, the sandbox's, logs).
clean-demo:
	if [ -x $(PY) ]; then $(SERVICES) stop; fi
	rm -rf var

# --tools: Chromium for the browser tests and PgBouncer, installed with apt as root when missing.
test: venv
	$(VENV)/bin/lint-imports
	$(SERVICES) run --tests --tools -- $(PY) -m pytest

# Units and single-process integration tests: nothing marked e2e, browser or scale (markers in
# pyproject.toml, given in tests/conftest.py). Each xdist worker has its own test database and
# Redis database (REDIS_URL's + worker number: 9 and 10 by default).
TEST_WORKERS ?= 2
test-fast: venv
	$(VENV)/bin/lint-imports
	$(SERVICES) run --tests -- \
	  $(PY) -m pytest -m "not e2e and not browser and not scale" -n $(TEST_WORKERS) --dist worksteal

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
