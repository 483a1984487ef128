# Waypoint: `make up` runs the whole system, `make test` runs every test. Both set up everything
# they need on a fresh machine (Python venv, Kafka jars from Maven Central, PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install tools up down status demo test test-unit lint bench bench-checkins bench-sweep bench-alerts bench-rebuild clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

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

test-unit: install
	$(BIN)/pytest -m unit

lint: install
	$(BIN)/ruff check shared services deploy tests

bench: install
	$(BIN)/python -m benchmarks

# The services' benchmarks (minutes each; not part of `make bench` or `make test`).
bench-checkins: install
	$(BIN)/python -m benchmarks checkins

bench-sweep: install
	$(BIN)/python -m benchmarks sweep

bench-alerts: install
	$(BIN)/python -m benchmarks alerts

# monitoring's read models rebuilt from Kafka vs raw consume + COPY, 1M events (docs/benchmarks.md)
bench-rebuild: install
	$(BIN)/python -m benchmarks rebuild

clean: down
	rm -rf .waypoint
