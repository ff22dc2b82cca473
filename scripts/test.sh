#!/usr/bin/env bash
# The project's test command: lint, then pytest (slow MCMC tests included; set FAST=1 to skip them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check codbayes tests benchmarks scripts
markers=()
if [ "${FAST:-0}" = "1" ]; then markers=(-m "not slow"); fi
.venv/bin/python -m pytest "${markers[@]}" "$@"
