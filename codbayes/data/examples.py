"""Small real example ladders shipped with the package.

The only example so far, ``qwen1.5-humaneval``, is HumanEval (164 problems, greedy pass@1 from the
Hugging Face evaluation in Eval-Arena) for the Qwen1.5 base models 0.5B, 1.8B, 4B, 7B, 14B, 32B
and 72B (role ``ladder``) plus Qwen1.5-110B (role ``anchor``: its training tokens are undisclosed,
so it has no compute).  Attribution and licences: ``codbayes/data/examples/NOTICE.md``.  The files
are made by ``scripts/make_example.py``.

Use :func:`load_example` for a :class:`~codbayes.data.ladder.Ladder` and :func:`example_paths`
for the files themselves (e.g. to run ``codbayes validate`` on them).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from codbayes.data.ladder import Ladder

DEFAULT_EXAMPLE = "qwen1.5-humaneval"
EXAMPLES = {
    "qwen1.5-humaneval": (
        "HumanEval (164 items, greedy) for Qwen1.5 0.5B-72B (ladder) and Qwen1.5-110B (anchor), "
        "from Eval-Arena"
    ),
}
"""Example name -> one-line description."""

__all__ = ["example_paths", "list_examples", "load_example"]


def list_examples() -> dict[str, str]:
    """Names of the bundled examples with a one-line description each."""
    return dict(EXAMPLES)


def _folder() -> Path:
    return Path(str(files("codbayes.data").joinpath("examples")))


def example_paths(name: str = DEFAULT_EXAMPLE) -> dict[str, Path | None]:
    """Files of a bundled example, in the tidy file contract.

    Parameters
    ----------
    name : str, default "qwen1.5-humaneval"
        One of :func:`list_examples`.

    Returns
    -------
    dict
        ``results``, ``models`` and ``benchmarks`` (None if the example has no benchmarks table)
        paths, e.g. for ``codbayes validate RESULTS --models MODELS --benchmarks BENCHMARKS``.

    Raises
    ------
    KeyError
        Unknown example name.
    """
    if name not in EXAMPLES:
        raise KeyError(f"unknown example {name!r}; available: {', '.join(EXAMPLES)}")
    folder = _folder()
    benchmarks = folder / f"{name}.benchmarks.csv"
    return {
        "results": folder / f"{name}.results.csv.gz",
        "models": folder / f"{name}.models.csv",
        "benchmarks": benchmarks if benchmarks.exists() else None,
    }


def load_example(name: str = DEFAULT_EXAMPLE) -> Ladder:
    """Load a bundled example ladder.

    Parameters
    ----------
    name : str, default "qwen1.5-humaneval"
        One of :func:`list_examples`.

    Returns
    -------
    Ladder
        Named after the example.
    """
    from codbayes.data.readers import read_tidy

    paths = example_paths(name)
    return read_tidy(paths["results"], paths["models"], paths["benchmarks"], name=name)
