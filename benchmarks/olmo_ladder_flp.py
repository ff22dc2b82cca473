"""FLP, FLP-Bayes and FLP-M on the AI2 OLMo ladder: predict 7B-4T and 13B-5T from 190M-1B.

Reproduces the table in ``docs/flp.md``::

    .venv/bin/python benchmarks/olmo_ladder_flp.py            # everything (~5-7 min on one core)
    .venv/bin/python benchmarks/olmo_ladder_flp.py --quick    # point methods only (~15 s)

Data: ``<data>/olmo_ladder`` (the shared copy of the AI2 ladder, Apache-2.0), read with
:func:`codbayes.data.checkpoints.read_olmo_ladder`: 16 ladder runs (190M, 370M, 760M, 1B at 1, 2,
5, 10 x Chinchilla) with per-checkpoint task loss (bits per byte), accuracy and 11 validation
losses; the targets' scores are their final evaluations (7B annealed, 13B last step), as in the
paper's ``configs/final.json``.

Rows:

* ``FLP <stage2> / <loss>``: :class:`codbayes.methods.flp.FLP`; ``task`` = the task loss (AI2's
  choice), ``pretrain`` = mean of the 11 validation cross-entropies (FLP's choice);
* ``FLP-Bayes <stage2> / task``: :class:`codbayes.methods.flp.FLPBayes`, posterior mean and 90 %
  interval;
* ``FLP-M <domains>``: :class:`codbayes.methods.flp_m.FLPM`, full-data fit and bootstrap interval;
* ``AI2 two-step (re-run)``: our re-implementation of the paper's method (step 1
  ``L(N, D) = A/N^alpha + B/D^beta + E``, Huber on log loss, on the mean of the last 5 checkpoints;
  step 2 the anchored sigmoid on checkpoints after the first 10 % with a 5-point moving average of
  the loss), to check the data against the paper's reported 3.8 / 4.2 points;
* ``AI2 paper (reported)``: Bhagia et al. (arXiv 2412.04403) mean absolute error over 8 tasks.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from codbayes.data.checkpoints import OLMO_PAPER_TASKS, OLMO_TASKS, read_olmo_ladder
from codbayes.data.ladder import Ladder
from codbayes.methods.flp import FLP, FLPBayes, fit_score_map
from codbayes.methods.flp_m import FLPM

PAPER_MAE = {"7B-4T": 3.8, "13B-5T": 4.2}
TARGETS = ("7B-4T", "13B-5T")


# ----------------------------------------------------------------------------- AI2 re-run
def _huber(r: np.ndarray, delta: float = 1e-3) -> np.ndarray:
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta))


def _fit_nd(n: np.ndarray, d: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AI2 step 1: ``L = exp(a)/N^alpha + exp(b)/D^beta + E`` by Huber loss on log L (L-BFGS-B)."""

    def objective(p: np.ndarray) -> float:
        a, b, alpha, beta, e = p
        pred = np.exp(a - alpha * np.log(n)) + np.exp(b - beta * np.log(d)) + e
        return float(np.sum(_huber(np.log(pred) - np.log(y))))

    best = None
    for start in ([3.0, 6.0, 0.1, 0.2, 1.0], [5.0, 5.0, 0.3, 0.3, 0.5], [2.0, 8.0, 0.1, 0.3, 0.2]):
        res = minimize(
            objective,
            start,
            method="L-BFGS-B",
            bounds=[(0, None), (0, None), (0, None), (0, None), (0, None)],
            options={"maxiter": 100000},
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    return best.x


def ai2_two_step(train: Ladder, held: Ladder) -> dict[str, np.ndarray]:
    """Predicted accuracy per task at the held-out models (our re-run of Bhagia et al.)."""
    ck = train.checkpoints
    assert ck is not None
    out = {}
    for task in sorted(ck["benchmark"].unique()):
        rows = ck[ck["benchmark"] == task].sort_values(["model", "step"])
        last5 = rows.groupby("model").tail(5).groupby("model")["loss"].mean()
        n = train.models.loc[last5.index, "params"].to_numpy(float)
        d = train.models.loc[last5.index, "tokens"].to_numpy(float)
        a, b, alpha, beta, e = _fit_nd(n, d, last5.to_numpy(float))
        parts = []
        for _, run in rows.groupby("model"):
            run = run.iloc[int(np.ceil(0.1 * len(run))) :]
            smooth = run["loss"].rolling(5, min_periods=1).mean()
            parts.append(run.assign(loss=smooth.to_numpy()))
        fit_rows = pd.concat(parts)
        smap = fit_score_map(
            fit_rows["loss"],
            fit_rows["score"],
            "sigmoid",
            guess_rate=OLMO_TASKS[task].guess_rate,
            anchor_loss=float(fit_rows["loss"].max()),
        )
        nt = held.models["params"].to_numpy(float)
        dt = held.models["tokens"].to_numpy(float)
        loss = np.exp(a - alpha * np.log(nt)) + np.exp(b - beta * np.log(dt)) + e
        out[task] = np.clip(smap(loss), 0, 1)
    return out


# ----------------------------------------------------------------------------- runner
def final_scores(held: Ladder) -> pd.DataFrame:
    """Actual score of every held-out model (its last checkpoint): task x model."""
    ck = held.checkpoints
    assert ck is not None
    last = ck.sort_values("tokens").groupby(["model", "benchmark"]).tail(1)
    return last.pivot(index="benchmark", columns="model", values="score")[list(held.models.index)]


def run(data: Path, *, quick: bool, bootstrap: int, draws: int, seed: int) -> None:
    """Fit every method, print the summary and per-task tables (markdown)."""
    ladder = read_olmo_ladder(data)
    train, held = ladder.holdout_largest(2)
    assert tuple(held.models.index) == TARGETS
    flops = held.models["flops"].to_numpy(float)
    actual = final_scores(held)
    methods: dict[str, Callable[[], tuple[dict, dict | None]]] = {}

    def point(model: FLP) -> Callable[[], tuple[dict, None]]:
        def go() -> tuple[dict, None]:
            pred = model.fit(train).predict(flops)
            return {b: pred.draws[i, :, 0] for i, b in enumerate(pred.benchmarks)}, None

        return go

    for stage2 in ("linear", "sigmoid"):
        for loss in ("task", "pretrain"):
            methods[f"FLP {stage2} / {loss}"] = point(FLP(stage2=stage2, loss=loss))
    methods["FLP linear / task, pure power law"] = point(FLP(stage2="linear", stage1="pure"))
    methods["AI2 two-step (re-run)"] = lambda: (ai2_two_step(train, held), None)
    if not quick:
        for stage2 in ("linear", "sigmoid"):

            def bayes(stage2: str = stage2) -> tuple[dict, dict]:
                model = FLPBayes(stage2=stage2, draws=draws, tune=draws, chains=2, seed=seed)
                pred = model.fit(train).predict(flops)
                print(f"  FLP-Bayes {stage2}: diagnostics {model.diagnostics_}")
                means = {b: pred.draws[i].mean(axis=-1) for i, b in enumerate(pred.benchmarks)}
                return means, _intervals(pred)

            methods[f"FLP-Bayes {stage2} / task"] = bayes
        for label, domains in (("11 domains", "auto"), ("task losses", "tasks")):

            def flpm(domains: str = domains) -> tuple[dict, dict]:
                model = FLPM(domains=domains, n_bootstrap=bootstrap, seed=seed).fit(train)
                pts = model.predict_point(flops)
                means = {b: pts.draws[i, :, 0] for i, b in enumerate(pts.benchmarks)}
                return means, _intervals(model.predict(flops))

            methods[f"FLP-M {label}"] = flpm

    preds: dict[str, pd.DataFrame] = {}
    cover: dict[str, pd.DataFrame] = {}
    for label, go in methods.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            points, intervals = go()
        preds[label] = pd.DataFrame(points, index=list(TARGETS)).T
        if intervals is not None:
            lo, hi = intervals["lower"], intervals["upper"]
            cover[label] = (lo <= actual) & (actual <= hi)
        print(f"  {label}: {time.perf_counter() - t0:.1f} s")

    print_tables(preds, cover, actual)


def _intervals(pred) -> dict[str, pd.DataFrame]:
    """90 % equal-tailed interval per task (rows) and target (columns)."""
    q = np.quantile(pred.draws, [0.05, 0.95], axis=2)
    lower = pd.DataFrame(q[0], index=pred.benchmarks, columns=list(TARGETS))
    upper = pd.DataFrame(q[1], index=pred.benchmarks, columns=list(TARGETS))
    return {"lower": lower, "upper": upper}


def _markdown(frame: pd.DataFrame) -> str:
    cols = [frame.index.name or "", *map(str, frame.columns)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for idx, row in frame.iterrows():
        cells = [str(idx)] + [
            "" if pd.isna(v) else (f"{v:.1f}" if isinstance(v, float) else str(v)) for v in row
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_tables(
    preds: dict[str, pd.DataFrame], cover: dict[str, pd.DataFrame], actual: pd.DataFrame
) -> None:
    """Summary (MAE per target, paper's 8 tasks and all 10; coverage) and per-task errors."""
    paper = list(OLMO_PAPER_TASKS)
    rows = {}
    for label, pred in preds.items():
        err = 100 * (pred - actual.loc[pred.index])
        row = {}
        for t in TARGETS:
            row[f"{t} MAE (8)"] = float(err.loc[paper, t].abs().mean())
        for t in TARGETS:
            row[f"{t} MAE (10)"] = float(err[t].abs().mean())
        row["90% coverage (20)"] = (
            f"{int(cover[label].to_numpy().sum())}/20" if label in cover else "-"
        )
        rows[label] = row
    rows["AI2 paper (reported)"] = {
        "7B-4T MAE (8)": PAPER_MAE["7B-4T"],
        "13B-5T MAE (8)": PAPER_MAE["13B-5T"],
        "7B-4T MAE (10)": np.nan,
        "13B-5T MAE (10)": np.nan,
        "90% coverage (20)": "-",
    }
    summary = pd.DataFrame(rows).T
    summary.index.name = "method (points of accuracy)"
    print("\n## Mean absolute error (points), 7B-4T and 13B-5T predicted from 190M-1B\n")
    print(_markdown(summary))
    print("\n## Signed error per task (prediction - actual, points); actual in %\n")
    table = {}
    for t in TARGETS:
        block = pd.DataFrame({"actual": 100 * actual[t]})
        for label, pred in preds.items():
            block[label] = 100 * (pred[t] - actual[t])
        block.index = [f"{t} {b}{'' if b in paper else ' *'}" for b in block.index]
        table[t] = block
    full = pd.concat(table.values())
    full.index.name = "target task (* = not in the paper's 8)"
    print(_markdown(full))


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("CODBAYES_SHARED_DATA", "/work/shared/data")) / "olmo_ladder"
    parser.add_argument("--data", type=Path, default=default, help="the olmo_ladder folder")
    parser.add_argument("--quick", action="store_true", help="point methods only")
    parser.add_argument("--bootstrap", type=int, default=20, help="FLP-M bootstrap replicates")
    parser.add_argument(
        "--draws", type=int, default=500, help="FLP-Bayes draws (and tune) per chain"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run(args.data, quick=args.quick, bootstrap=args.bootstrap, draws=args.draws, seed=args.seed)


if __name__ == "__main__":
    main()
