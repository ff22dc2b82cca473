"""Calibration of cod-bayes against cod-point on simulated paper-like ladders (issue 4).

Run from the repository root::

    .venv/bin/python benchmarks/bench_calibration.py [--ladders 7] [--items 1000] [--seed 0]
        [--draws 500] [--tune 500] [--chains 4] [--response loss] [--csv cases.csv]

Each ladder is ``paper_scale_config()`` (8 benchmarks, 8 rungs 4e19..1.4e23 FLOPs, 100 samples
per item, one anchor) with every benchmark capped at ``--items`` items (default 1000, to fit
~50 fits' worth of work into 20-30 minutes on 2 cores; the paper's sizes are 500-17,944) and its
own seed.  The target is a freshly drawn ladder-family model at 3.8e24 FLOPs (27x the top rung;
:meth:`SimulatedLadder.sample_model`, with its own effective-compute offset, item jitter and
binomial noise): its *realised* score is what a backtest compares with.  Every
(ladder, benchmark) pair is one case: 7 ladders give 56 cases.

Printed: the per-case table, then the coverage of the central 50 % and 90 % intervals (targets
40-60 % and 85-95 %), mean interval widths, and the mean absolute error (points) of the
posterior median next to cod-point's (must be no worse), overall and for the hard cases (the
score rises by more than 20 points from the top rung to the target).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings

import numpy as np
import pandas as pd

from codbayes.data.simulate import paper_scale_config, simulate_ladder
from codbayes.errors import ConvergenceWarning
from codbayes.methods.cod_bayes import CODBayes
from codbayes.methods.cod_point import CODPoint

TARGET_FLOPS = 3.8e24


def capped_config(items: int, response: str):
    """``paper_scale_config`` with every benchmark capped at ``items`` items."""
    base = paper_scale_config(response=response)
    benches = tuple(dataclasses.replace(b, n_items=min(b.n_items, items)) for b in base.benchmarks)
    return dataclasses.replace(base, benchmarks=benches)


def run_ladder(seed: int, args: argparse.Namespace) -> pd.DataFrame:
    """Fit both methods on one simulated ladder; one row per benchmark."""
    sim = simulate_ladder(capped_config(args.items, args.response), seed=seed)
    target = sim.sample_model(TARGET_FLOPS, seed=10_000 + seed)
    start = time.perf_counter()
    point = CODPoint().fit(sim.ladder)
    t_point = time.perf_counter() - start
    bayes = CODBayes(
        seed=seed, draws=args.draws, tune=args.tune, chains=args.chains, progressbar=False
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        bayes.fit_clustered(list(point.clustered_.values()))  # same deterministic clusters
    t_bayes = time.perf_counter() - start
    pred_b = bayes.predict(TARGET_FLOPS)
    pred_p = point.predict(TARGET_FLOPS)
    rows = []
    for k, bench in enumerate(pred_b.benchmarks):
        draws = pred_b.scores(bench)
        cb = point.clustered_[bench]
        top = cb.full_score[np.flatnonzero(cb.is_ladder)[-1]]
        q = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95])
        rows.append(
            {
                "ladder": seed,
                "benchmark": bench,
                "top_rung": top,
                "realised": float(target.scores[bench]),
                "point": float(pred_p.scores(bench)[0]),
                "median": q[2],
                "q05": q[0],
                "q25": q[1],
                "q75": q[3],
                "q95": q[4],
                "subset_fraction": cb.subset_fraction,
                "max_rhat": bayes.diagnostics_["max_rhat"],
                "min_ess": bayes.diagnostics_["min_ess_bulk"],
                "divergences": bayes.diagnostics_["divergences"],
                "warned": bool(caught),
                "fit_s": t_bayes,
                "point_s": t_point,
                "index": k,
            }
        )
    return pd.DataFrame(rows)


def summarise(cases: pd.DataFrame) -> pd.DataFrame:
    """Coverage, widths and errors, overall and for the hard cases."""

    def stats(frame: pd.DataFrame) -> dict[str, float]:
        r = frame["realised"]
        return {
            "cases": len(frame),
            "cover50": float(((frame["q25"] <= r) & (r <= frame["q75"])).mean()),
            "cover90": float(((frame["q05"] <= r) & (r <= frame["q95"])).mean()),
            "width50": float(100 * (frame["q75"] - frame["q25"]).mean()),
            "width90": float(100 * (frame["q95"] - frame["q05"]).mean()),
            "mae_bayes": float(100 * (frame["median"] - r).abs().mean()),
            "mae_point": float(100 * (frame["point"] - r).abs().mean()),
        }

    hard = cases["realised"] - cases["top_rung"] > 0.20
    table = {"all": stats(cases), "hard (+20 pts over top rung)": stats(cases[hard])}
    return pd.DataFrame(table).T


def main(argv: list[str] | None = None) -> int:
    """Run the calibration study; returns 0 if every acceptance check passes."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ladders", type=int, default=7)
    p.add_argument("--items", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--tune", type=int, default=500)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--response", default="loss", choices=("loss", "logistic"))
    p.add_argument("--csv", default=None, help="write the per-case table here")
    args = p.parse_args(argv)

    start = time.perf_counter()
    frames = []
    for i in range(args.ladders):
        frame = run_ladder(args.seed + i, args)
        frames.append(frame)
        f = frame.iloc[0]
        print(
            f"ladder {args.seed + i}: fit {f['fit_s']:.0f} s, R-hat {f['max_rhat']:.3f}, "
            f"ESS {f['min_ess']:.0f}, divergences {f['divergences']:.0f}",
            flush=True,
        )
    cases = pd.concat(frames, ignore_index=True)
    if args.csv:
        cases.to_csv(args.csv, index=False)
    cols = ["ladder", "benchmark", "top_rung", "realised", "point", "median", "q05", "q95"]
    with pd.option_context("display.width", 140, "display.max_rows", 500, "display.precision", 3):
        print(cases[cols].to_string(index=False))
        summary = summarise(cases)
        print()
        print(summary.round(3).to_string())
    elapsed = time.perf_counter() - start
    s = summary.loc["all"]
    checks = {
        "90 % coverage in [0.85, 0.95]": 0.85 <= s["cover90"] <= 0.95,
        "50 % coverage in [0.40, 0.60]": 0.40 <= s["cover50"] <= 0.60,
        "MAE no worse than cod-point": s["mae_bayes"] <= s["mae_point"],
    }
    print(
        f"\n{len(cases)} cases in {elapsed / 60:.1f} min "
        f"({args.items} items per benchmark at most, response {args.response!r})"
    )
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
