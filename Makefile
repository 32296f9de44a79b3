# The two commands of the README are `make demo` and `make test`; both install what they need.
.PHONY: setup demo test test-serial test-quick lint bench clean

setup:
	@scripts/bootstrap.sh

demo: setup
	.venv/bin/fleet demo

# Three workers (tests/support/scheduling.py): whole modules, the shared fleet's tests on one
# worker, one fleet at a time, the longest groups first. `make test-serial` runs them in order.
test: setup
	.venv/bin/pytest -n 3

test-serial: setup
	.venv/bin/pytest

# For a change's first check: every test but the scenarios marked slow (`make test` runs all).
test-quick: setup
	.venv/bin/pytest -m "not slow"

lint: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy

bench: setup
	.venv/bin/python bench/cluster_bench.py

clean:
	-.venv/bin/fleet down --purge
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
