"""Predict the held-out largest model of every real item-level ladder in ``../shared/data``.

Run from the repository root::

    .venv/bin/python benchmarks/real_ladders.py [--methods cod-bayes cod-point ...]
        [--draws 1000] [--chains 4] [--seed 0] [--data-dir ../shared/data/eval_arena] [--json FILE]

For each Eval-Arena ladder (one family on one benchmark, models with known compute), the largest
model is hidden and predicted from the others with every method; the table gives the real score,
each method's median and 90 % interval, and whether the interval holds the real score. Ladders
that keep fewer than 3 rungs after the hold-out are listed as skipped, with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from codbayes.data.readers import read_eval_arena
from codbayes.errors import InputError
from codbayes.evaluate import backtest

#: (benchmark, family, anchors) of every Eval-Arena ladder named in ../shared/data/README.md
LADDERS = [
    ("humaneval_hf", "Qwen1.5", ()),
    ("humaneval_hf", "Qwen1.5", ("Qwen1.5-110B",)),
    ("humaneval_hf", "Llama", ()),
    ("humaneval_hf", "Llama-2", ()),
    ("cruxeval_input", "DeepSeek-Coder", ()),
    ("cruxeval_input", "CodeLlama", ()),
    ("cruxeval_output", "DeepSeek-Coder", ()),
    ("cruxeval_output", "CodeLlama", ()),
    ("lcb_codegen", "DeepSeek-Coder", ()),
    ("lcb_codegen", "CodeLlama", ()),
    ("lcb_codegen", "StarCoder2", ()),
    ("mbpp+", "CodeGen", ()),
]
DEFAULT_METHODS = ["cod-bayes", "cod-point", "e2e-exp", "e2e-passrate", "e2e-sigmoid"]


def run(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest every ladder; return (records, skipped)."""
    records, skipped = [], []
    for bench, family, anchors in LADDERS:
        label = f"{family} on {bench}" + (f" + anchor {', '.join(anchors)}" if anchors else "")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ladder = read_eval_arena(bench, family, anchors=anchors, data_dir=args.data_dir)
        except InputError as err:
            skipped.append({"ladder": label, "method": "*", "reason": str(err)})
            print(f"{label}: skipped ({err})", file=sys.stderr)
            continue
        start = time.perf_counter()
        params = {
            "*": {
                "seed": args.seed,
                "draws": args.draws,
                "tune": args.draws,
                "chains": args.chains,
                "progressbar": False,
            }
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = backtest(ladder, args.methods, holdout="largest", method_params=params)
        frame = result.records.assign(ladder=label)
        records.append(frame)
        for _, row in result.skipped.iterrows():
            skipped.append({"ladder": label, "method": row["method"], "reason": row["reason"]})
        print(
            f"{label}: {len(frame)} cases in {time.perf_counter() - start:.0f} s", file=sys.stderr
        )
    recs = pd.concat(records, ignore_index=True) if records else pd.DataFrame()
    return recs, pd.DataFrame(skipped, columns=["ladder", "method", "reason"])


def format_records(records: pd.DataFrame) -> str:
    """Markdown table: ladder, held-out model, real score, each method's median [90 % interval]."""
    lines = [
        "| ladder | held out | real | method | median | 90 % interval | error | in 90 % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in records.iterrows():
        point = r["q05"] == r["q95"]
        interval = "(point)" if point else f"[{100 * r.q05:.1f}, {100 * r.q95:.1f}]"
        inside = "-" if point else ("yes" if r["covered90"] else "no")
        lines.append(
            f"| {r['ladder']} | {r['model']} | {100 * r['actual']:.1f} | {r['method']} | "
            f"{100 * r['median']:.1f} | {interval} | {100 * r['abs_error']:.1f} | {inside} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=DEFAULT_METHODS)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared/data/eval_arena",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the records as JSON")
    args = parser.parse_args(argv)
    records, skipped = run(args)
    if len(records):
        print(format_records(records))
        summary = records.groupby("method").agg(
            mae=("abs_error", lambda s: 100 * s.mean()),
            coverage90=("covered90", "mean"),
            n=("abs_error", "size"),
        )
        print("\nmean absolute error (points) and 90 % coverage per method:")
        print(summary.round(2).to_string())
    if len(skipped):
        print("\nskipped:")
        for _, row in skipped.iterrows():
            print(f"- {row['ladder']} [{row['method']}]: {row['reason']}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"records": records.to_dict("records"), "skipped": skipped.to_dict("records")},
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
