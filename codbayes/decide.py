"""Decisions from predictions: how much compute a target score needs, and is a run on track.

Compute planning
    :func:`plan_compute` answers "what is the smallest training compute ``C`` at which
    ``P(score(C) >= x) >= prob``?" from predictions on a log-spaced compute grid.  The answer is
    the first grid crossing of the probability curve, interpolated linearly in ``log10 C``.  Its
    uncertainty is reported two ways: the distribution of the per-draw crossing compute ``C*_d``
    (the compute at which draw ``d``'s score curve first reaches ``x``; median and 5-95 % range:
    *when* would a run reach the score) and a bootstrap standard error of the answer over the
    draws (Monte Carlo precision).  With monotone per-draw curves the ``prob``-quantile of
    ``C*_d`` *is* the answer; with noisy curves it is a little lower (a draw may touch ``x`` early
    and fall back), which is why the answer itself comes from the probability curve.
    :func:`probability_curve` and :func:`plot_probability_curve` show ``P(score >= x)`` against
    compute.

Training monitoring
    :func:`monitor` places the evaluations of a run's checkpoints in the predicted distribution at
    their compute: below / inside / above the central ``prob`` band, and their predictive
    percentile.  **Caveat:** an intermediate checkpoint is not a fully trained model: before the
    learning-rate schedule has decayed it usually scores *below* a model trained to that compute,
    so early checkpoints sitting low is expected; the signal is a run that keeps falling further
    below the band as it approaches its final compute, or a final checkpoint below it.
    :func:`read_checkpoint_scores` reads and validates the checkpoint file.

Common random numbers: :func:`predict_grid` predicts each compute in its own call, so a predictor
that re-seeds each call (``CODBayes`` does) uses the same random stream at every compute and the
draws form per-draw curves.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from codbayes.data.validate import (
    check_columns,
    check_unique,
    number_column,
    row_error,
    row_numbers,
    text_column,
)
from codbayes.errors import InputError
from codbayes.prediction import Prediction

__all__ = [
    "DEFAULT_GRID_POINTS",
    "PlanResult",
    "flops_grid",
    "monitor",
    "plan_compute",
    "plan_from_prediction",
    "plot_monitor",
    "plot_probability_curve",
    "predict_grid",
    "probability_curve",
    "read_checkpoint_scores",
]

PathLike = str | os.PathLike

#: points of the default log-spaced compute grid
DEFAULT_GRID_POINTS = 81
#: default compute range: (smallest ladder rung, this factor x the largest rung)
DEFAULT_RANGE_FACTOR = 1000.0
CHECKPOINT_REQUIRED = ("checkpoint", "flops", "benchmark", "score")
CHECKPOINT_OPTIONAL = ("item", "run")
STATUSES = ("below", "inside", "above")


# ============================================================================ helpers
def _as_predictor(source: Any) -> Any:
    if isinstance(source, str | os.PathLike):
        from codbayes.store import load_fit

        return load_fit(source)
    return source


def ladder_compute(predictor: Any) -> np.ndarray | None:
    """Training compute of the ladder rungs a predictor was fitted on (None if unknown)."""
    ladder = getattr(predictor, "ladder_", None)
    if ladder is not None:
        flops = ladder.compute[ladder.ladder_models].to_numpy(dtype=float)
        return np.sort(flops[np.isfinite(flops)])
    clustered = getattr(predictor, "clustered_", None)
    if clustered:
        flops = np.concatenate([cb.compute[cb.is_ladder] for cb in clustered.values()])
        return np.unique(flops)
    return None


def flops_grid(
    predictor: Any = None,
    flops_range: tuple[float, float] | None = None,
    n: int = DEFAULT_GRID_POINTS,
) -> np.ndarray:
    """A log-spaced compute grid.

    Parameters
    ----------
    predictor : Predictor, optional
        Gives the default range: from the smallest ladder rung to
        :data:`DEFAULT_RANGE_FACTOR` times the largest.
    flops_range : (float, float), optional
        Lowest and highest compute (FLOPs).
    n : int, default 81
        Number of points.
    """
    if flops_range is None:
        rungs = None if predictor is None else ladder_compute(predictor)
        if rungs is None or not rungs.size:
            raise InputError("give flops_range: the predictor has no ladder to take it from")
        flops_range = (float(rungs[0]), DEFAULT_RANGE_FACTOR * float(rungs[-1]))
    lo, hi = (float(v) for v in flops_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise InputError(f"flops range must be two increasing positive numbers, got {lo:g}, {hi:g}")
    if int(n) < 2:
        raise InputError(f"the compute grid needs at least 2 points, got {n}")
    return np.geomspace(lo, hi, int(n))


def predict_grid(
    predictor: Any, flops: Sequence[float] | np.ndarray, *, common_random_numbers: bool = True
) -> Prediction:
    """Predict every benchmark on a compute grid.

    Parameters
    ----------
    predictor : Predictor or path
        A fitted predictor or a saved fit.
    flops : array_like
        The computes (FLOPs).
    common_random_numbers : bool, default True
        Predict each compute in its own call: a predictor that re-seeds each call then uses the
        same random numbers at every compute, so draw ``d`` is one curve over compute.  ``False``:
        one call for all computes (same marginals; cod-bayes shares its noise across the
        computes of one call anyway, other predictors may draw it afresh per compute).

    Returns
    -------
    Prediction
        Targets in the order of ``flops``.
    """
    predictor = _as_predictor(predictor)
    grid = np.atleast_1d(np.asarray(flops, dtype=float))
    if not common_random_numbers:
        return predictor.predict(grid)
    parts = [predictor.predict([c]) for c in grid]
    first = parts[0]
    return Prediction(
        method=first.method,
        target_flops=grid,
        benchmarks=list(first.benchmarks),
        draws=np.concatenate([p.draws for p in parts], axis=1),
        info=first.info,
        diagnostics=first.diagnostics,
        seed=first.seed,
    )


def _check_benchmark(prediction: Prediction, benchmark: str) -> int:
    if benchmark not in prediction.benchmarks:
        raise InputError(
            f"unknown benchmark {benchmark!r}; the fit has {', '.join(prediction.benchmarks)}",
            source="--benchmark",
        )
    return prediction.benchmarks.index(benchmark)


def _check_fraction(value: float, name: str, *, open_low: bool = False) -> float:
    value = float(value)
    ok = (0 < value if open_low else 0 <= value) and value <= 1
    if not (math.isfinite(value) and ok):
        span = "(0, 1]" if open_low else "[0, 1]"
        raise InputError(f"must be a fraction in {span}, got {value:g}", source=f"--{name}")
    return value


# ============================================================================ planning
def _first_crossing(
    curves: np.ndarray, level: float | np.ndarray, log_grid: np.ndarray
) -> np.ndarray:
    """Interpolated ``log10 C`` where each curve first reaches ``level``.

    Parameters
    ----------
    curves : numpy.ndarray
        ``(n_curves, n_grid)`` values on the grid.
    level : float or numpy.ndarray
        Level to reach (scalar or one per curve).
    log_grid : numpy.ndarray
        ``log10`` of the grid, ascending.

    Returns
    -------
    numpy.ndarray
        ``(n_curves,)``: ``+inf`` when a curve never reaches the level, ``log_grid[0]`` when it
        starts at or above it.
    """
    level = np.broadcast_to(np.asarray(level, dtype=float), curves.shape[:1])[:, None]
    hit = curves >= level
    any_hit = hit.any(axis=1)
    j = np.argmax(hit, axis=1)
    out = np.full(curves.shape[0], np.inf)
    rows = np.flatnonzero(any_hit & (j == 0))
    out[rows] = log_grid[0]
    rows = np.flatnonzero(any_hit & (j > 0))
    if rows.size:
        jj = j[rows]
        lo, hi = curves[rows, jj - 1], curves[rows, jj]
        frac = np.clip((level[rows, 0] - lo) / (hi - lo), 0.0, 1.0)
        out[rows] = log_grid[jj - 1] + frac * (log_grid[jj] - log_grid[jj - 1])
    return out


def _quantile_log(values: np.ndarray, q: float | Sequence[float]) -> np.ndarray:
    """Quantiles of ``log10`` values that may be ``+inf`` (no interpolation across inf)."""
    return np.quantile(values, q, method="inverted_cdf")


@dataclass(frozen=True, eq=False)
class PlanResult:
    """The answer of :func:`plan_compute`.

    Attributes
    ----------
    benchmark : str
        Benchmark planned for.
    score : float
        Target score ``x`` (fraction).
    prob : float
        Required probability.
    flops : float
        Smallest compute with ``P(score >= x) >= prob`` (interpolated); ``inf`` if not reached
        within the range, the range's low end if already reached there.
    status : str
        ``"reached"``, ``"not reached"`` (not within ``flops_range``) or ``"at lower bound"``
        (already reached at the lowest compute of the range).
    flops_range : (float, float)
        The searched compute range.
    grid : numpy.ndarray
        The compute grid.
    probability : numpy.ndarray
        ``P(score >= x)`` on the grid.
    grid_flops : float
        The first grid compute with ``P >= prob`` (``inf`` if none).
    crossing : numpy.ndarray
        Per-draw crossing compute ``C*_d`` (``inf`` if the draw never reaches ``x``).
    crossing_median, crossing_q05, crossing_q95 : float
        Median and 5-95 % range of ``C*_d`` (``inf`` where more than that share never reaches).
    se_log10 : float
        Bootstrap standard error of ``log10(flops)`` over the draws (NaN if not reached in most
        resamples).
    reference_flops : float or None
        Largest ladder rung's compute (for "x times the ladder").
    method : str
        Method of the predictions.
    """

    benchmark: str
    score: float
    prob: float
    flops: float
    status: str
    flops_range: tuple[float, float]
    grid: np.ndarray = field(repr=False)
    probability: np.ndarray = field(repr=False)
    grid_flops: float
    crossing: np.ndarray = field(repr=False)
    crossing_median: float
    crossing_q05: float
    crossing_q95: float
    se_log10: float
    reference_flops: float | None = None
    method: str = ""

    @property
    def reached(self) -> bool:
        """Whether the probability is reached within the range."""
        return self.status != "not reached"

    @property
    def prob_at_max(self) -> float:
        """``P(score >= x)`` at the highest compute of the range."""
        return float(self.probability[-1])

    @property
    def never_fraction(self) -> float:
        """Share of draws that never reach the score within the range."""
        return float(np.mean(~np.isfinite(self.crossing)))

    def summary(self) -> str:
        """One paragraph in words."""
        head = (
            f"{self.benchmark}: P(score >= {self.score:.3g}) >= {self.prob:.0%}"
            f" ({self.method or 'prediction'})"
        )
        lo, hi = self.flops_range
        if self.status == "not reached":
            return (
                f"{head}: not reached within {lo:.3g}-{hi:.3g} FLOPs; the probability is "
                f"{self.prob_at_max:.0%} at {hi:.3g} FLOPs."
            )
        text = f"{head}: {self.flops:.3g} FLOPs"
        if self.reference_flops:
            text += f" ({self.flops / self.reference_flops:.3g} x the largest rung)"
        if math.isfinite(self.se_log10):
            text += f", Monte Carlo SE x{10**self.se_log10:.2f}"
        if self.status == "at lower bound":
            text += f" -- already reached at the low end of the range ({lo:.3g} FLOPs)"
        text += (
            f". A run reaches the score at {_fmt(self.crossing_median)} FLOPs (median over "
            f"draws; 90 % range {_fmt(self.crossing_q05)} - {_fmt(self.crossing_q95)})."
        )
        return text

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (``None`` for infinite / NaN values)."""

        def num(value: float | None) -> float | None:
            if value is None:
                return None
            value = float(value)
            return value if math.isfinite(value) else None

        return {
            "benchmark": self.benchmark,
            "score": self.score,
            "prob": self.prob,
            "method": self.method,
            "status": self.status,
            "flops": num(self.flops),
            "grid_flops": num(self.grid_flops),
            "flops_range": [num(v) for v in self.flops_range],
            "se_log10": num(self.se_log10),
            "crossing_median": num(self.crossing_median),
            "crossing_q05": num(self.crossing_q05),
            "crossing_q95": num(self.crossing_q95),
            "never_fraction": self.never_fraction,
            "prob_at_max": self.prob_at_max,
            "reference_flops": num(self.reference_flops),
        }


def _fmt(flops: float) -> str:
    return f"{flops:.3g}" if math.isfinite(flops) else "never (in range)"


def plan_from_prediction(
    prediction: Prediction,
    benchmark: str,
    score: float,
    prob: float,
    *,
    n_boot: int = 200,
    seed: int = 0,
    reference_flops: float | None = None,
) -> PlanResult:
    """:func:`plan_compute` on draws already predicted on a grid (``prediction.target_flops``).

    Parameters
    ----------
    prediction : Prediction
        Draws on an ascending compute grid (per-draw curves: common random numbers).
    benchmark, score, prob
        See :func:`plan_compute`.
    n_boot : int, default 200
        Bootstrap resamples of the draws for the standard error.
    seed : int, default 0
        Seed of the bootstrap.
    reference_flops : float, optional
        Largest ladder rung, for the summary.
    """
    b = _check_benchmark(prediction, benchmark)
    score = _check_fraction(score, "score")
    prob = _check_fraction(prob, "prob", open_low=True)
    grid = prediction.target_flops
    if grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise InputError("the compute grid must be ascending with at least 2 points")
    log_grid = np.log10(grid)
    draws = prediction.draws[b]  # (n_grid, n_draws)
    hit = (draws >= score).astype(float)
    probability = hit.mean(axis=1)
    crossing_log = _first_crossing(draws.T, score, log_grid)
    if draws.shape[1] == 1:  # a point method: the curve's own crossing
        answer_log = float(crossing_log[0])
    else:
        answer_log = float(_first_crossing(probability[None, :], prob, log_grid)[0])
    reached = probability >= prob
    grid_flops = float(grid[np.argmax(reached)]) if reached.any() else math.inf
    if not math.isfinite(answer_log):
        status = "not reached"
    elif reached[0] or answer_log <= log_grid[0]:
        status = "at lower bound"
    else:
        status = "reached"

    se = math.nan
    n_draws = draws.shape[1]
    if n_draws > 1 and n_boot > 0:
        rng = np.random.default_rng(seed)
        weights = rng.multinomial(n_draws, np.full(n_draws, 1.0 / n_draws), size=n_boot)
        boot = _first_crossing(weights @ hit.T / n_draws, prob, log_grid)
        finite = boot[np.isfinite(boot)]
        if finite.size >= max(2, n_boot // 2):
            se = float(np.std(finite, ddof=1))
    q05, q50, q95 = _quantile_log(crossing_log, [0.05, 0.5, 0.95])
    return PlanResult(
        benchmark=benchmark,
        score=score,
        prob=prob,
        flops=float(10**answer_log),
        status=status,
        flops_range=(float(grid[0]), float(grid[-1])),
        grid=grid,
        probability=probability,
        grid_flops=grid_flops,
        crossing=10.0**crossing_log,
        crossing_median=float(10**q50),
        crossing_q05=float(10**q05),
        crossing_q95=float(10**q95),
        se_log10=se,
        reference_flops=reference_flops,
        method=prediction.method,
    )


def plan_compute(
    predictor: Any,
    benchmark: str,
    score: float,
    prob: float,
    *,
    flops_range: tuple[float, float] | None = None,
    grid: int | Sequence[float] | np.ndarray = DEFAULT_GRID_POINTS,
    n_boot: int = 200,
    seed: int = 0,
) -> PlanResult:
    """Smallest training compute at which ``P(score >= x) >= prob``, with its uncertainty.

    Parameters
    ----------
    predictor : Predictor or path
        A fitted predictor or a saved fit.
    benchmark : str
        Benchmark to plan for.
    score : float
        Target score ``x`` as a fraction in [0, 1].
    prob : float
        Required probability in (0, 1].
    flops_range : (float, float), optional
        Computes to search (default: smallest ladder rung to 1000 x the largest).
    grid : int or array_like, default 81
        Number of log-spaced grid points in ``flops_range``, or the grid itself.
    n_boot : int, default 200
        Bootstrap resamples for the standard error.
    seed : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    PlanResult
        ``status == "not reached"`` (and ``flops = inf``) when the probability stays below
        ``prob`` up to the end of the range.

    Raises
    ------
    codbayes.errors.InputError
        Unknown benchmark, score or probability outside [0, 1], bad range.
    """
    predictor = _as_predictor(predictor)
    if isinstance(grid, int | np.integer):
        flops = flops_grid(predictor, flops_range, int(grid))
    else:
        flops = np.sort(np.asarray(grid, dtype=float))
    prediction = predict_grid(predictor, flops)
    rungs = ladder_compute(predictor)
    return plan_from_prediction(
        prediction,
        benchmark,
        score,
        prob,
        n_boot=n_boot,
        seed=seed,
        reference_flops=None if rungs is None or not rungs.size else float(rungs[-1]),
    )


# ============================================================================ probability curves
def _thresholds(
    thresholds: float | Sequence[float] | Mapping[str, Sequence[float] | float],
    benchmarks: Sequence[str],
) -> dict[str, list[float]]:
    if isinstance(thresholds, Mapping):
        out = {str(b): np.atleast_1d(np.asarray(v, float)).tolist() for b, v in thresholds.items()}
        unknown = [b for b in out if b not in benchmarks]
        if unknown:
            raise InputError(f"unknown benchmark(s) {', '.join(unknown)}", source="thresholds")
    else:
        values = np.atleast_1d(np.asarray(thresholds, dtype=float)).tolist()
        out = {b: values for b in benchmarks}
    for values in out.values():
        for v in values:
            _check_fraction(v, "score")
    return out


def probability_curve(
    source: Any,
    flops_grid_: Sequence[float] | np.ndarray | None = None,
    thresholds: float | Sequence[float] | Mapping[str, Sequence[float] | float] = 0.5,
) -> pd.DataFrame:
    """``P(score >= x)`` against compute for each benchmark and threshold.

    Parameters
    ----------
    source : Predictor, path or Prediction
        A fitted predictor or saved fit (predicted on the grid), or a :class:`Prediction` whose
        targets are the grid.
    flops_grid_ : array_like, optional
        Computes (default: :func:`flops_grid` of the predictor).
    thresholds : float, sequence or mapping
        Score thresholds (fractions) for every benchmark, or per benchmark.

    Returns
    -------
    pandas.DataFrame
        Columns ``benchmark, threshold, flops, prob`` (one row per combination).
    """
    if isinstance(source, Prediction):
        prediction = source
    else:
        source = _as_predictor(source)
        grid = (
            flops_grid(source) if flops_grid_ is None else np.sort(np.asarray(flops_grid_, float))
        )
        prediction = predict_grid(source, grid)
    table = _thresholds(thresholds, prediction.benchmarks)
    rows = []
    for bench, values in table.items():
        draws = prediction.draws[prediction.benchmarks.index(bench)]
        for x in values:
            p = (draws >= x).mean(axis=1)
            rows.append(
                pd.DataFrame(
                    {
                        "benchmark": bench,
                        "threshold": x,
                        "flops": prediction.target_flops,
                        "prob": p,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def plot_probability_curve(
    curve: pd.DataFrame,
    *,
    prob: float | None = None,
    plans: Sequence[PlanResult] = (),
    reference_flops: float | None = None,
    ncols: int = 3,
) -> Figure:
    """Plot :func:`probability_curve`: one panel per benchmark, one line per threshold.

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`probability_curve`.
    prob : float, optional
        Draw the required probability as a dashed horizontal line.
    plans : sequence of PlanResult
        Mark each plan's answer (a dot at ``(flops, prob)``) in its benchmark's panel.
    reference_flops : float, optional
        Largest ladder rung, drawn as a dotted vertical line.
    ncols : int, default 3
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    benches = list(pd.unique(curve["benchmark"]))
    ncols = max(1, min(ncols, len(benches)))
    nrows = math.ceil(len(benches) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.3 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for extra in axes[len(benches) :]:
        fig.delaxes(extra)
    for ax, bench in zip(axes, benches, strict=False):
        mine = curve[curve["benchmark"] == bench]
        for k, (x, part) in enumerate(mine.groupby("threshold", sort=True)):
            ax.plot(part["flops"], part["prob"], color=f"C{k}", lw=1.8, label=f"score >= {x:.3g}")
        if prob is not None:
            ax.axhline(prob, color="0.3", ls="--", lw=1, label=f"P = {prob:.0%}")
        if reference_flops:
            ax.axvline(reference_flops, color="0.5", ls=":", lw=1, label="largest rung")
        for plan in plans:
            if plan.benchmark == bench and plan.reached and math.isfinite(plan.flops):
                ax.plot(plan.flops, plan.prob, "o", color="k", ms=5)
                ax.annotate(f"{plan.flops:.2g}", (plan.flops, plan.prob), fontsize=7,
                            xytext=(4, -10), textcoords="offset points")  # fmt: skip
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("training compute (FLOPs)")
        ax.set_ylabel("P(score >= threshold)")
        ax.set_title(bench, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    return fig


# ============================================================================ monitoring
def read_checkpoint_scores(
    table: PathLike | pd.DataFrame, *, source: str | None = None
) -> pd.DataFrame:
    """Read and validate a run's checkpoint evaluations.

    Accepted layouts (CSV, gzipped CSV or Parquet, or a DataFrame):

    * ``checkpoint, flops, benchmark, score``: one benchmark score per checkpoint;
    * ``checkpoint, flops, benchmark, item, score``: item-level pass rates, averaged per
      checkpoint and benchmark (``n_items`` counts them);
    * either with an optional ``run`` column to monitor several runs at once.

    ``flops`` is the training compute spent at the checkpoint (> 0), the same on every row of a
    checkpoint; ``score`` a fraction in [0, 1].

    Returns
    -------
    pandas.DataFrame
        ``[run,] checkpoint, flops, benchmark, score, n_items`` (``n_items`` NaN for
        benchmark-level input), sorted by compute then benchmark.

    Raises
    ------
    codbayes.errors.InputError
        One line naming the file, column and an example row.
    """
    if isinstance(table, pd.DataFrame):
        raw, source = table, source or "checkpoints"
    else:
        from codbayes.data.readers import read_table

        source = source or str(table)
        raw = read_table(table, source=source)
    frame = check_columns(
        raw, source=source, required=CHECKPOINT_REQUIRED, optional=CHECKPOINT_OPTIONAL
    )
    rows = row_numbers(frame)
    has_run = "run" in frame.columns
    out = pd.DataFrame(index=frame.index)
    for col in ("run", "checkpoint", "benchmark") if has_run else ("checkpoint", "benchmark"):
        out[col] = text_column(frame, col, source=source, rows=rows, required=True)
    out["flops"] = number_column(
        frame, "flops", source=source, rows=rows, required=True, positive=True
    )
    score = number_column(frame, "score", source=source, rows=rows, required=True)
    bad = ((score < 0) | (score > 1)).to_numpy()
    if bad.any():
        example = float(score[bad].iloc[0])
        raise row_error(f"score must be a fraction in [0, 1], got {example:g}", source=source,
                    column="score", rows=rows, mask=bad)  # fmt: skip
    out["score"] = score
    item_level = "item" in frame.columns
    checkpoint = ["run", "checkpoint"] if has_run else ["checkpoint"]
    keys = [*checkpoint, "benchmark"]
    if item_level:
        out["item"] = text_column(frame, "item", source=source, rows=rows, required=True)
        keys.append("item")
    check_unique(out[keys], source=source, column=keys[-1], rows=rows, what="row")
    first_flops = out.groupby(checkpoint, sort=False)["flops"].transform("first")
    clash = (out["flops"] != first_flops).to_numpy()
    if clash.any():
        raise row_error("a checkpoint has one compute; this row's flops differ from its first row",
                    source=source, column="flops", rows=rows, mask=clash)  # fmt: skip
    grouped = out.groupby([*checkpoint, "benchmark"], sort=False)
    result = grouped.agg(
        flops=("flops", "first"), score=("score", "mean"), n_items=("score", "size")
    )
    result = result.reset_index()
    if not item_level:
        result["n_items"] = np.nan
    result = result.sort_values(["flops", "benchmark"], kind="stable").reset_index(drop=True)
    return result[[*checkpoint, "flops", "benchmark", "score", "n_items"]]


def _percentile(draws: np.ndarray, value: float) -> float:
    """Mid-rank predictive percentile of ``value`` among ``draws``."""
    return float(((draws < value).sum() + 0.5 * (draws == value).sum()) / draws.size)


def monitor(
    predictor: Any,
    checkpoints: PathLike | pd.DataFrame,
    prob: float = 0.9,
) -> pd.DataFrame:
    """Place a run's checkpoints in the predicted score distribution at their compute.

    Parameters
    ----------
    predictor : Predictor or path
        A fitted predictor (or saved fit) of the model family being trained.
    checkpoints : path or pandas.DataFrame
        Checkpoint evaluations (see :func:`read_checkpoint_scores`).
    prob : float, default 0.9
        Mass of the central predicted band.

    Returns
    -------
    pandas.DataFrame
        One row per checkpoint and benchmark: ``[run,] checkpoint, flops, benchmark, score, n_items,
        median, lower, upper, percentile`` (share of predicted draws below the score) and
        ``status`` (``"below"``, ``"inside"`` or ``"above"`` the band).

    Notes
    -----
    Intermediate checkpoints are not fully trained models (their learning rate has not decayed),
    so they tend to sit low in the band early in a run; judge the trend and the final checkpoint.
    """
    prob = _check_fraction(prob, "prob", open_low=True)
    table = read_checkpoint_scores(checkpoints)
    predictor = _as_predictor(predictor)
    flops = np.unique(table["flops"].to_numpy(dtype=float))
    prediction = predictor.predict(flops)
    unknown = sorted(set(table["benchmark"]) - set(prediction.benchmarks))
    if unknown:
        raise InputError(
            f"unknown benchmark(s) {', '.join(unknown)}; the fit has "
            f"{', '.join(prediction.benchmarks)}",
            source="checkpoints",
            column="benchmark",
        )
    _warn_partial_items(predictor, table)
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    records = []
    for row in table.itertuples(index=False):
        t = int(np.searchsorted(flops, row.flops))
        draws = prediction.draws[prediction.benchmarks.index(row.benchmark), t]
        lower, median, upper = np.quantile(draws, [lo_q, 0.5, hi_q])
        status = "below" if row.score < lower else "above" if row.score > upper else "inside"
        records.append(
            {
                "median": float(median),
                "lower": float(lower),
                "upper": float(upper),
                "percentile": _percentile(draws, row.score),
                "status": status,
            }
        )
    return pd.concat([table, pd.DataFrame(records)], axis=1)


def _warn_partial_items(predictor: Any, table: pd.DataFrame) -> None:
    """Warn when item-level checkpoint scores cover fewer items than the fitted benchmark."""
    ladder = getattr(predictor, "ladder_", None)
    if ladder is None or table["n_items"].isna().all():
        return
    for bench, n in table.groupby("benchmark")["n_items"].min().items():
        if bench in ladder.benchmarks and n < ladder.benchmarks[bench].n_items:
            warnings.warn(
                f"checkpoint scores of {bench} cover {int(n)} of "
                f"{ladder.benchmarks[bench].n_items} items; the prediction is for the full "
                "benchmark",
                stacklevel=3,
            )


def plot_monitor(
    predictor: Any,
    table: pd.DataFrame,
    *,
    prob: float = 0.9,
    n_grid: int = 40,
    ncols: int = 3,
) -> Figure:
    """The predicted band against compute with a run's checkpoints coloured by status.

    Parameters
    ----------
    predictor : Predictor or path
        The predictor :func:`monitor` used.
    table : pandas.DataFrame
        Output of :func:`monitor`; with a ``run`` column, one line per run.
    prob : float, default 0.9
        Mass of the band (as in :func:`monitor`).
    n_grid : int, default 40
        Points of the band.
    ncols : int, default 3
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    predictor = _as_predictor(predictor)
    benches = list(pd.unique(table["benchmark"]))
    lo = float(table["flops"].min()) / 1.5
    hi = float(table["flops"].max()) * 1.5
    rungs = ladder_compute(predictor)
    if rungs is not None and rungs.size:
        lo = min(lo, float(rungs[0]))
    grid = np.geomspace(lo, hi, n_grid)
    prediction = predictor.predict(grid)
    ncols = max(1, min(ncols, len(benches)))
    nrows = math.ceil(len(benches) / ncols)
    fig = Figure(figsize=(4.4 * ncols, 3.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for extra in axes[len(benches) :]:
        fig.delaxes(extra)
    colors = {"below": "C3", "inside": "C2", "above": "C1"}
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    ladder = getattr(predictor, "ladder_", None)
    for ax, bench in zip(axes, benches, strict=False):
        draws = prediction.draws[prediction.benchmarks.index(bench)]
        band = np.quantile(draws, [lo_q, 0.5, hi_q], axis=1)
        ax.fill_between(grid, band[0], band[2], color="C0", alpha=0.2, lw=0,
                        label=f"predicted {prob:.0%}")  # fmt: skip
        ax.plot(grid, band[1], color="C0", lw=1.5, label="predicted median")
        if ladder is not None and bench in ladder.scores().columns:
            rungs_b = ladder.ladder_models
            ax.plot(ladder.compute[rungs_b], ladder.scores().loc[rungs_b, bench], "o",
                    color="k", ms=3.5, label="ladder")  # fmt: skip
        mine = table[table["benchmark"] == bench]
        runs = mine.groupby("run", sort=False) if "run" in mine.columns else [(None, mine)]
        for k, (run, part) in enumerate(runs):
            style = ["-", "--", ":", "-."][k % 4]
            label = None if run is None else str(run)
            ax.plot(part["flops"], part["score"], color="0.4", lw=0.8, ls=style, label=label)
            for status, pts in part.groupby("status"):
                ax.plot(pts["flops"], pts["score"], "D", color=colors.get(status, "k"), ms=5,
                        mec="k", mew=0.4)  # fmt: skip
        for status, color in colors.items():
            if (mine["status"] == status).any():
                ax.plot([], [], "D", color=color, mec="k", mew=0.4, label=f"checkpoint {status}")
        ax.set_xscale("log")
        ax.set_xlabel("training compute (FLOPs)")
        ax.set_ylabel(f"{bench} score")
        ax.set_title(bench, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    return fig
