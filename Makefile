# The two commands of the README are `make demo` and `make test`; both install what they need.
.PHONY: setup demo test test-parallel test-quick lint bench clean

setup:
	@scripts/bootstrap.sh

demo: setup
	.venv/bin/fleet demo

test: setup
	.venv/bin/pytest

# The same tests on three workers (tests/support/scheduling.py): ~35 min instead of ~60 on
# 2 cores, but the machine is saturated and one reefer-command test has timed out there
# (BENCHMARKS.md), so `make test` stays serial until the suite's CPU work is cut.
test-parallel: setup
	.venv/bin/pytest -n 3

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
