# Every target runs through uv; `make help` lists them.
.DEFAULT_GOAL := help
UV ?= uv
PYTEST_ARGS ?=
PYTEST = $(UV) run pytest -n auto --maxprocesses=4

.PHONY: help install serve demo test test-pg test-sqlite lint format typecheck importlint bench check

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: ## Install Tollway and its development tools (uv sync)
	$(UV) sync --frozen

serve: ## Run Tollway on the embedded SQLite default (http://127.0.0.1:8000)
	$(UV) run tollway serve

demo: ## Seed a sample product, customers and usage, then serve
	$(UV) run tollway demo

test: ## Run the test suite on SQLite and PostgreSQL (PostgreSQL required when CI=true)
	$(PYTEST) $(PYTEST_ARGS)

test-sqlite: ## Run the test suite on SQLite only
	TOLLWAY_TEST_BACKENDS=sqlite $(PYTEST) $(PYTEST_ARGS)

test-pg: ## Run the test suite on PostgreSQL only (TOLLWAY_TEST_PG_URL, default the local server)
	TOLLWAY_TEST_BACKENDS=postgresql $(PYTEST) $(PYTEST_ARGS)

lint: ## ruff lint and format check
	$(UV) run ruff check src tests benchmarks
	$(UV) run ruff format --check src tests benchmarks

format: ## Apply ruff fixes and formatting
	$(UV) run ruff check --fix src tests benchmarks
	$(UV) run ruff format src tests benchmarks

typecheck: ## mypy --strict on src
	$(UV) run mypy

importlint: ## Check the layer contracts of DESIGN.md
	$(UV) run lint-imports

bench: ## Run the benchmarks (one JSON line per figure)
	$(UV) run python -m benchmarks

check: lint typecheck importlint test ## Everything CI runs
