# Waypoint: `make up` runs the whole system, `make test` runs every test. Both set up everything
# they need on a fresh machine (Python venv, Kafka jars from Maven Central, PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser-deps vendor-assets tools up down status demo test test-unit lint catalogue-check bench bench-checkins bench-sweep bench-alerts bench-kafka-path bench-rebuild bench-encryption bench-console bench-tenancy screenshots clean soak

# Browser tests drive Debian's Chromium through Playwright (Playwright's own browser download cannot
# work here and is never used). Installed with apt only when missing; sudo only when not root.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The official AsyncAPI parser (npm, pinned by tools/asyncapi/package-lock.json) validates the
# catalogue in the test suite.
NODE_TOOLS := tools/asyncapi/node_modules/.installed
$(NODE_TOOLS): tools/asyncapi/package-lock.json
	command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	cd tools/asyncapi && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_TOOLS)

install: $(STAMP) browser-deps $(NODE_TOOLS)

browser-deps:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }
	@$(BIN)/python deploy/vendor_assets.py --missing

# Fetch the vendored npm files again (axe-core for the tests, Swagger UI for /docs) at their pinned versions.
vendor-assets: $(STAMP)
	$(BIN)/python deploy/vendor_assets.py

# promtool, helm, kubeconform and Kubernetes schemas for the deploy checks (deploy/tools.sh)
tools: install
	bash deploy/tools.sh

up: install
	$(BIN)/waypoint up

down: install
	$(BIN)/waypoint down

demo: install
	$(BIN)/waypoint demo

test: install tools
	$(BIN)/pytest

# Minutes-long chaos on a three-broker cluster (SOAK_SECONDS, CHAOS_PERIOD_S, CHAOS_DOWN_S); not in `make test`.
soak: install
	WAYPOINT_SOAK=1 $(BIN)/pytest tests/soak --timeout=3600 -s

test-unit: install
	$(BIN)/pytest -m unit

# The same checks run inside `make test` (tests/unit/test_code_quality.py).
lint: install
	$(BIN)/ruff check shared services deploy tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports

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

# The kernel's Kafka path (outbox, relay, broker, inbox consumer) vs raw aiokafka, same run (docs/benchmarks.md)
bench-kafka-path: install
	$(BIN)/python -m benchmarks kafkapath

# a transaction with the agency set (row-level security) vs without, same run (docs/benchmarks.md)
bench-tenancy: install
	$(BIN)/python -m benchmarks tenancy

# The console: caseload page (2,000 participants) and participant page (5,000-event timeline), on a stack of its own.
bench-console: install
	$(BIN)/python -m benchmarks.console

# PNGs of the console's main pages under docs/console/, from the real pages on a stack of its own.
screenshots: install
	$(BIN)/python -m services.console.screenshots --own-stack

# monitoring's read models rebuilt from Kafka vs raw consume + COPY, 1M events (docs/benchmarks.md)
bench-rebuild: install
	$(BIN)/python -m benchmarks rebuild

# enrolment and check-in append, texts sealed vs not encrypted (docs/benchmarks.md, Encryption)
bench-encryption: install
	$(BIN)/python -m benchmarks.encryption

clean: down
	rm -rf .waypoint
