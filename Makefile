# One entry point for developers and CI: `make run`, `make test` (what .ci/run calls).
# Every target installs what it needs; installs are skipped while pyproject.toml is unchanged.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Stamp files record that the venv holds what pyproject.toml asks for; editing
# pyproject.toml makes them stale, so the next target reinstalls.
RUN_STAMP := $(VENV)/.run.stamp
TEST_STAMP := $(VENV)/.test.stamp

.PHONY: help venv run test lint services bench-quick clean

help:
	@echo "make run          install PyTake and serve it on 127.0.0.1:\$${PORT:-8000}"
	@echo "make test         services, lint, type check, tests (what CI runs)"
	@echo "make lint         ruff and mypy only"
	@echo "make venv         create .venv with PyTake and its test tools"
	@echo "make bench-quick  a short run of the actor benchmark"
	@echo "make clean        remove .venv and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The test extras include everything `run` needs, so a fresh test stamp satisfies run too.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	@if [ -f $(TEST_STAMP) ] && [ $(TEST_STAMP) -nt pyproject.toml ]; then \
		echo "dependencies already installed"; \
	else \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .; \
	fi
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@ $(RUN_STAMP)

venv: $(TEST_STAMP)

run: $(RUN_STAMP)
	$(BIN)/pytake serve --host 127.0.0.1 --port $${PORT:-8000}

services:
	bash scripts/ensure-services.sh

lint: $(TEST_STAMP)
	$(BIN)/ruff check pytake tests benchmarks
	$(BIN)/mypy pytake

# Spelled out rather than as prerequisites, so the order holds under `make -j` too.
test: $(TEST_STAMP)
	bash scripts/ensure-services.sh
	$(BIN)/ruff check pytake tests benchmarks
	$(BIN)/mypy pytake
	$(BIN)/pytest

bench-quick: $(TEST_STAMP)
	$(BIN)/python -m benchmarks.actors --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
