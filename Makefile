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
# The web app is rebuilt when one of its sources is newer than its stamp.
UI_STAMP := ui/dist/.stamp
UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) \
	$(wildcard ui/index.html ui/package.json ui/package-lock.json ui/vite.config.ts ui/tsconfig*.json)

.PHONY: help venv ui wheel run test lint services bench-quick clean

help:
	@echo "make run          install PyTake and serve it on 127.0.0.1:\$${PORT:-8000}"
	@echo "make test         services, lint, type check, tests (what CI runs)"
	@echo "make lint         ruff and mypy only"
	@echo "make venv         create .venv with PyTake and its test tools"
	@echo "make ui           build the web app (ui/, needs Node.js 20+) into ui/dist"
	@echo "make wheel        a wheel in dist/ with the built web app inside"
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

$(UI_STAMP): $(UI_SOURCES)
	bash scripts/ensure-ui.sh
	@touch $@

ui: $(UI_STAMP)

wheel: $(UI_STAMP) | $(BIN)/python
	$(BIN)/python -m pip wheel . --no-deps --quiet --disable-pip-version-check -w dist
	@ls dist/pytake-*.whl

# Demo mode (WhatsApp is the local stand-in `pytake demo` serves; docs/demo.md) unless WhatsApp
# may be configured for real: an access token in the environment, or a settings file.
RUN_DEMO = $(if $(PYTAKE_WHATSAPP_ACCESS_TOKEN)$(PYTAKE_CONFIG),, --demo)

run: $(RUN_STAMP) $(UI_STAMP)
	$(BIN)/pytake serve --host 127.0.0.1 --port $${PORT:-8000}$(RUN_DEMO)

services:
	bash scripts/ensure-services.sh

lint: $(TEST_STAMP)
	$(BIN)/ruff check pytake tests benchmarks
	$(BIN)/mypy pytake

# Spelled out rather than as prerequisites, so the order holds under `make -j` too.
test: $(TEST_STAMP)
	bash scripts/ensure-services.sh
	bash scripts/ensure-browser.sh
	$(BIN)/ruff check pytake tests benchmarks
	$(BIN)/mypy pytake
	bash scripts/ensure-ui.sh --check
	@touch $(UI_STAMP)
	$(BIN)/pytest --durations=25

bench-quick: $(TEST_STAMP)
	$(BIN)/python -m benchmarks.actors --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
