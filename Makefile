# Waypoint: `make up` runs the whole system, `make test` runs every test. Both set up everything
# they need on a fresh machine (Python venv, Kafka jars from Maven Central, PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up down status demo test test-unit lint catalogue-check bench bench-checkins bench-sweep bench-alerts clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The official AsyncAPI parser (npm, pinned by tools/asyncapi/package-lock.json) validates the
# catalogue in the test suite.
NODE_TOOLS := tools/asyncapi/node_modules/.installed
$(NODE_TOOLS): tools/asyncapi/package-lock.json
	command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	cd tools/asyncapi && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_TOOLS)

install: $(STAMP) $(NODE_TOOLS)

up: install
	$(BIN)/waypoint up

down: install
	$(BIN)/waypoint down

demo: install
	$(BIN)/waypoint demo

test: install
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest -m unit

lint: install
	$(BIN)/ruff check shared services deploy tests

# Fails on a breaking change to an event (see docs/integrations.md) or stale catalogue documents.
catalogue-check: install
	$(BIN)/waypoint catalogue --check

bench: install
	$(BIN)/python -m benchmarks

# The services' benchmarks (minutes each; not part of `make bench` or `make test`).
bench-checkins: install
	$(BIN)/python -m benchmarks checkins

bench-sweep: install
	$(BIN)/python -m benchmarks sweep

bench-alerts: install
	$(BIN)/python -m benchmarks alerts

clean: down
	rm -rf .waypoint
