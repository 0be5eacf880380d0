# dualbook — the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
BIN   := $(VENV)/bin

.PHONY: help setup demo test lint pgtap pytest deploy revert status db-start db-stop bench-sql bench clean

help:
	@echo "make setup      install Debian packages (if missing) and the .venv (idempotent)"
	@echo "make demo       start the embedded cluster (or use DATABASE_URL), deploy, run the main job"
	@echo "make test       lint + types + pgTAP + pytest on throwaway clusters"
	@echo "make bench-sql  pgbench: commit ceiling vs post_entry at 8 and 32 clients"
	@echo "make bench      the workloads in one run (ceiling, P1-P5): table, bench-results.json/.md"
	@echo "                (BENCH_ARGS='--seconds 5 --skip-scale' for a quick run; 10-15 min with the 5M load)"
	@echo "make deploy|revert|status|db-start|db-stop"

setup:
	@bash scripts/bootstrap.sh

demo: setup
	@$(BIN)/dualbook demo

test: setup lint pgtap pytest

lint: setup
	$(BIN)/ruff check pyadapter tests
	$(BIN)/ruff format --check pyadapter tests
	$(BIN)/mypy
	$(BIN)/hadolint --no-color Dockerfile
	@bash scripts/lint-shell.sh

pgtap: setup
	PYTHONPATH=pyadapter $(PY) tests/pgtap_run.py tests/pgtap

pytest: setup
	$(BIN)/pytest $(PYTEST_ARGS)

deploy: setup
	$(BIN)/dualbook deploy

revert: setup
	$(BIN)/dualbook revert

status: setup
	$(BIN)/dualbook status

db-start: setup
	$(BIN)/dualbook db start

db-stop: setup
	$(BIN)/dualbook db stop

bench-sql: setup
	$(PY) -m dualbook.tools.bench.sql $(BENCH_ARGS)

bench: setup
	$(BIN)/dualbook bench $(BENCH_ARGS)

clean:
	-$(BIN)/dualbook db stop 2>/dev/null
	rm -rf .dualbook .pytest_cache .mypy_cache .ruff_cache

# The certification suite with the long profile (100,000+ model transactions, 20 crash cycles, ...);
# writes certification.md and prints it. `make test` runs the same suite with the short profile.
.PHONY: certify
certify: setup
	DUALBOOK_CERTIFY=1 DUALBOOK_CERTIFICATION_MD=certification.md $(BIN)/pytest tests/python/certify -q $(PYTEST_ARGS)
