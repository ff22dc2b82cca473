# One command each (see README): `make demo` sets up and runs the main job; `make test` the tests.
.PHONY: setup demo test test-all lint bench notebooks clean

setup:
	@bash scripts/bootstrap.sh

demo: setup
	.venv/bin/codbayes demo

# Fast suite (no slow MCMC fits); what .ci/run runs, with slow tests too when CI=true.
test: setup
	@bash scripts/test.sh

lint: setup
	.venv/bin/ruff check codbayes tests benchmarks scripts

clean:
	rm -rf .venv .pytest_cache .ruff_cache build *.egg-info
