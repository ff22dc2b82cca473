"""Regenerate the example ladder shipped in ``codbayes/data/examples/``.

Usage::

    .venv/bin/python scripts/make_example.py [--data-dir /work/shared/data/eval_arena]

Reads HumanEval (``humaneval_hf``) for the Qwen1.5 family from the Eval-Arena data (see
``/work/shared/data/README.md``), keeps Qwen1.5-110B as an anchor (its training tokens are
undisclosed, so it has no compute), and writes the tidy tables plus a benchmarks table (guess
rate 0: HumanEval is code generation).  The output is byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from codbayes.data.examples import DEFAULT_EXAMPLE
from codbayes.data.ladder import Ladder
from codbayes.data.readers import eval_arena_dir, read_eval_arena
from codbayes.data.writers import write_tidy

OUT = Path(__file__).resolve().parents[1] / "codbayes" / "data" / "examples"


def build(data_dir: Path | None) -> Ladder:
    """The example ladder, read from the Eval-Arena folder."""
    ladder = read_eval_arena("humaneval_hf", "Qwen1.5", anchors=["Qwen1.5-110B"], data_dir=data_dir)
    benchmarks = {b: replace(r, guess_rate=0.0) for b, r in ladder.benchmarks.items()}
    return Ladder(models=ladder.models, benchmarks=benchmarks, name=DEFAULT_EXAMPLE)


def main() -> None:
    """Write the example files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="Eval-Arena folder")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    args = parser.parse_args()
    ladder = build(args.data_dir)
    name = DEFAULT_EXAMPLE
    write_tidy(
        ladder,
        args.out / f"{name}.results.csv.gz",
        args.out / f"{name}.models.csv",
        args.out / f"{name}.benchmarks.csv",
    )
    print(f"wrote {name} from {eval_arena_dir(args.data_dir)} to {args.out}")
    print(ladder.summary())


if __name__ == "__main__":
    main()
