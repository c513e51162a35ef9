# One entry point for habits: people and CI use the same targets.
SHELL := /bin/bash
UV_VERSION := 0.13.8
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen
BUNDLE ?= examples/bundle
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: uv setup services run test test-fast lint fmt bench clean

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"

setup: uv ## install the pinned toolchain and dependencies (with the dev tools) into .venv
	@$(UV) sync --frozen --quiet

services: ## start PostgreSQL, Redis and NATS on loopback if they are not running
	@bash scripts/services.sh

# Running needs no dev tool: --no-dev installs only the runtime dependencies, and --inexact
# leaves the dev tools of an earlier `make setup` in place.
run: uv ## serve the example bundle on the embedded default (no services needed)
	@$(UV) sync --frozen --no-dev --inexact --quiet
	@$(RUN) --no-dev tenantry up --bundle $(BUNDLE) --host $(HOST) --port $(PORT)

test: setup services ## lint, types, import contracts and the whole test suite
	@$(MAKE) --no-print-directory lint
	@$(RUN) pytest

test-fast: setup ## the suite without the real services
	@$(RUN) pytest -m "not postgres"

lint: setup ## ruff, formatting, mypy --strict and the import-linter contracts
	@$(RUN) ruff check src tests bench
	@$(RUN) ruff format --check src tests bench
	@$(RUN) mypy
	@$(RUN) lint-imports

fmt: setup ## format and auto-fix
	@$(RUN) ruff format src tests bench
	@$(RUN) ruff check --fix src tests bench

bench: setup services ## the benchmarks, each against its anchor; figures go to docs/benchmarks.md
	@$(RUN) python -m bench

clean:
	rm -rf .tenantry .pytest_cache .mypy_cache .ruff_cache
