"""Execute notebooks top to bottom.

``python scripts/run_notebooks.py`` runs every notebook in ``notebooks/`` with full settings and
writes the outputs back in place (the committed outputs are real ones).
``--fast`` injects a first cell that sets ``CODBAYES_FAST=1`` (fewer draws) and ``--check`` runs
without writing anything: this is what the test suite does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
FAST_CELL = "import os\nos.environ['CODBAYES_FAST'] = '1'  # injected: fast settings"


def execute(path: Path, *, fast: bool, write: bool, timeout: int = 1800) -> float:
    """Run notebook ``path``; return seconds taken. Raises on the first failing cell."""
    nb = nbformat.read(path, as_version=4)
    if fast:
        cell = nbformat.v4.new_code_cell(FAST_CELL)
        cell.metadata["tags"] = ["injected-parameters"]
        nb.cells.insert(0, cell)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    if write and not fast:
        nbformat.write(nb, path)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--fast", action="store_true", help="inject CODBAYES_FAST=1")
    parser.add_argument("--check", action="store_true", help="do not write outputs back")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        seconds = execute(path, fast=args.fast, write=not args.check)
        print(f"{path.name}: ran in {seconds:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
