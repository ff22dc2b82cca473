"""Calibration of cod-bayes on simulated paper-like ladders, next to cod-point and e2e-exp.

Run from the repository root::

    .venv/bin/python benchmarks/calibration.py [--ladders 7] [--items 1000] [--response loss]
        [--draws 500] [--chains 4] [--seed 0] [--csv cases.csv]

Each simulated ladder has the paper's 8 benchmarks (item counts capped at ``--items`` to keep the
run short on 2 cores), 8 rungs from 4e19 to 1.4e23 FLOPs and 100 samples per item, plus the
simulator's anchor. The target is a freshly drawn ladder-family model at 3.8e24 FLOPs (27x the
top rung, with its own effective-compute offset and binomial noise): its realised score is what a
backtest would compare with. Every (ladder, benchmark) is one case; 7 ladders give 56 cases.

Printed: per-case rows, then per method the mean absolute error of the median (points), the share
of cases whose 50 % and 90 % central intervals hold the realised score, and mean widths.
Acceptance (issue 4): 90 % coverage in [0.85, 0.95], 50 % in [0.40, 0.60], cod-bayes MAE no worse
than cod-point's.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings

import numpy as np
import pandas as pd

from codbayes.data.simulate import paper_scale_config, simulate_ladder
from codbayes.evaluate import score_draws
from codbayes.methods import get_method

TARGET_FLOPS = 3.8e24


def config(items: int, response: str):
    """The paper configuration with item counts capped at ``items``."""
    base = paper_scale_config(response=response)
    benches = tuple(dataclasses.replace(b, n_items=min(b.n_items, items)) for b in base.benchmarks)
    return dataclasses.replace(base, benchmarks=benches)


def run_cases(args: argparse.Namespace) -> pd.DataFrame:
    """Fit every method on every simulated ladder; one row per (ladder, benchmark, method)."""
    cfg = config(args.items, args.response)
    rows = []
    for i in range(args.ladders):
        seed = args.seed + i
        sim = simulate_ladder(cfg, seed=seed)
        target = sim.sample_model(TARGET_FLOPS, seed=1000 + seed)
        for method in args.methods:
            start = time.perf_counter()
            predictor = get_method(method, seed=seed, draws=args.draws, tune=args.draws,
                                   chains=args.chains, progressbar=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = predictor.fit(sim.ladder).predict(TARGET_FLOPS)
            seconds = time.perf_counter() - start
            for bench in pred.benchmarks:
                draws = pred.scores(bench, 0)
                actual = float(target.scores[bench])
                sc = score_draws(draws, actual)
                rows.append({
                    "ladder": seed, "benchmark": bench, "method": method, "actual": actual,
                    "median": float(np.median(draws)), "q05": float(np.quantile(draws, 0.05)),
                    "q95": float(np.quantile(draws, 0.95)),
                    "abs_error": float(np.abs(np.median(draws) - actual)),
                    "covered50": bool(sc["covered50"]), "covered90": bool(sc["covered90"]),
                    "width50": float(sc["width50"]), "width90": float(sc["width90"]),
                    "crps": float(sc["crps"]), "seconds": seconds,
                    "max_rhat": pred.diagnostics.get("max_rhat", np.nan),
                    "divergences": pred.diagnostics.get("divergences", np.nan),
                })
            print(f"ladder {seed} {method}: {seconds:.0f} s", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def summarise(cases: pd.DataFrame) -> pd.DataFrame:
    """Per method: MAE (points), coverage at 50/90 %, mean widths (points), CRPS, n cases."""
    return cases.groupby("method", sort=False).agg(
        mae=("abs_error", lambda s: 100 * s.mean()),
        max_error=("abs_error", lambda s: 100 * s.max()),
        coverage50=("covered50", "mean"), coverage90=("covered90", "mean"),
        width50=("width50", lambda s: 100 * s.mean()),
        width90=("width90", lambda s: 100 * s.mean()),
        crps=("crps", lambda s: 100 * s.mean()), n=("abs_error", "size"),
        seconds_per_fit=("seconds", "mean"),
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ladders", type=int, default=7)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--response", default="loss", choices=["loss", "logistic"])
    parser.add_argument("--methods", nargs="+", default=["cod-bayes", "cod-point", "e2e-exp"])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", default=None, help="write the per-case table here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    cases = run_cases(args)
    if args.csv:
        cases.to_csv(args.csv, index=False)
    pd.set_option("display.width", 160)
    bayes = cases[cases["method"] == "cod-bayes"]
    if len(bayes):
        print(bayes[["ladder", "benchmark", "actual", "median", "q05", "q95", "covered90",
                     "max_rhat", "divergences"]].round(3).to_string(index=False))
    print(f"\nresponse={args.response}, {args.ladders} ladders x 8 benchmarks, items <= "
          f"{args.items}, target {TARGET_FLOPS:.2g} FLOPs, {time.perf_counter() - start:.0f} s")
    print(summarise(cases).round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
