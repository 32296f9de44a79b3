# The two commands of the README are `make demo` and `make test`; both install what they need.
.PHONY: setup demo test test-quick lint bench clean

setup:
	@scripts/bootstrap.sh

demo: setup
	.venv/bin/fleet demo

# Three workers: most of a scenario is waiting on Kafka (an outage held, a restart awaited), so
# the waits overlap; each test module, and the tests on the one shared fleet, stay on one worker
# (tests/support/scheduling.py). `pytest` alone runs the same tests one at a time.
PYTEST_PARALLEL = -n 3

test: setup
	.venv/bin/pytest $(PYTEST_PARALLEL)

# For a change's first check: every test but the scenarios marked slow (`make test` runs all).
test-quick: setup
	.venv/bin/pytest $(PYTEST_PARALLEL) -m "not slow"

lint: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy

bench: setup
	.venv/bin/python bench/cluster_bench.py

clean:
	-.venv/bin/fleet down --purge
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
