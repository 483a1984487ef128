# Waypoint: `make up` runs the whole system, `make test` runs every test. Both set up everything
# they need on a fresh machine (Python venv, Kafka jars from Maven Central, PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up down status demo test test-unit lint bench bench-checkins bench-sweep bench-alerts clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

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

# The same checks run inside `make test` (tests/unit/test_code_quality.py).
lint: install
	$(BIN)/ruff check shared services deploy tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

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
