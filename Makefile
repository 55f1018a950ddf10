# Vitalis — the two commands a newcomer needs are the first two targets.
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

run: $(VENV)/.installed ## Set up, then run the pipeline end to end on the embedded default (no services needed)
	$(BIN)/vitalis run

test: $(VENV)/.installed ## Run the test suite (starts local PostgreSQL and Redis if they are not running)
	bash .ci/services.sh
	$(BIN)/pytest

lint: $(VENV)/.installed ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/vitalis_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14

bench: $(VENV)/.installed ## Benchmarks (printed figures; not part of the tests)
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_jobs.py --database-url $(BENCH_DATABASE_URL) --redis-url $(BENCH_REDIS_URL)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

.PHONY: run test lint bench help
