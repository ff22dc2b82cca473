#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install codbayes with its dev extras (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  # 1. pyenv honours .python-version (3.12) in this folder; 2. an explicit python3.12; 3. python3.
  for cand in "${PYTHON:-}" python3 python3.12 python3.13; do
    [ -n "$cand" ] || continue
    command -v "$cand" >/dev/null 2>&1 || continue
    if "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      echo "$cand"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    if PYENV_VERSION=3.12 pyenv exec python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      echo "env PYENV_VERSION=3.12 pyenv exec python3"; return 0
    fi
  fi
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
  PY=$(find_python) || { echo "bootstrap: Python >= 3.12 not found (install it, or set PYTHON=/path/to/python3.12)" >&2; exit 1; }
  echo "bootstrap: creating .venv with $($PY --version 2>&1)" >&2
  rm -rf .venv
  $PY -m venv .venv
fi
stamp=.venv/.codbayes-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing codbayes[dev] into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
  .venv/bin/python -m pip install --quiet -e ".[dev]" >&2
  touch "$stamp"
fi
