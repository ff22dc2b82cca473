"""Backtests and scores: how well do predictions of held-out models match their actual scores?

Two layers:

* **Scoring functions** on draws versus an observed score (:func:`absolute_error`, :func:`covered`,
  :func:`interval_width`, :func:`crps`, :func:`log_predictive_density`, :func:`pit`).  They take
  ``draws`` with the draws on the **last** axis and any leading shape, and ``y`` broadcastable to
  the leading shape.  A point method (one draw) is scored like any other: its CRPS is the absolute
  error, its intervals have width 0 (and so cover nothing but an exact hit), its log density is NaN.
* **Backtests** (:func:`holdout_splits`, :func:`backtest`): hold out the largest model(s) of a
  ladder, fit every method on the rest, predict the held-out models at their compute and score
  every (split, method, benchmark, model) case into a tidy :class:`BacktestResult`.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logit, logsumexp

from codbayes.data.ladder import MIN_LADDER_MODELS, Ladder
from codbayes.prediction import QUANTILES, Prediction

HOLDOUTS = ("largest", "k-largest", "family")
#: columns of :attr:`BacktestResult.records`
RECORD_COLUMNS = (
    "split", "method", "benchmark", "model", "flops", "train_max_flops", "actual",
    "median", "mean", *QUANTILES, "abs_error", "covered50", "covered90", "width50", "width90",
    "crps", "log_density", "pit", "n_draws", "seconds", "max_rhat", "divergences",
)  # fmt: skip
SKIP_COLUMNS = ("split", "method", "stage", "error", "reason")
#: per-method summary columns of :meth:`BacktestResult.overall`
SUMMARY_COLUMNS = (
    "mae", "max_error", "bias", "coverage50", "coverage90", "width50", "width90", "crps",
    "log_density", "n", "n_draws",
)  # fmt: skip
NO_FAMILY = "(no family)"


# ====================================================================== scoring functions
def _draws(draws: Any) -> np.ndarray:
    arr = np.asarray(draws, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError("draws must have at least one draw on the last axis")
    return arr


def _bounds(prob: float) -> tuple[float, float]:
    if not 0 < prob < 1:
        raise ValueError(f"interval probability must be in (0, 1), got {prob}")
    return (1 - prob) / 2, 1 - (1 - prob) / 2


def absolute_error(draws: Any, y: Any) -> np.ndarray:
    """Absolute error of the predictive median, ``|median(draws) - y|``.

    Parameters
    ----------
    draws : array_like
        Draws on the last axis, shape ``(..., n_draws)``.
    y : array_like
        Observed values, broadcastable to ``draws.shape[:-1]``.

    Returns
    -------
    numpy.ndarray
        Shape ``draws.shape[:-1]`` (broadcast with ``y``).
    """
    return np.abs(np.median(_draws(draws), axis=-1) - np.asarray(y, dtype=float))


def equal_tailed(draws: Any, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the equal-tailed ``prob`` interval of the draws."""
    lo, hi = _bounds(prob)
    q = np.quantile(_draws(draws), [lo, hi], axis=-1)
    return q[0], q[1]


def covered(draws: Any, y: Any, prob: float = 0.9) -> np.ndarray:
    """Whether ``y`` lies in the equal-tailed ``prob`` interval of the draws (bounds included).

    A one-draw (point) prediction has a zero-width interval and covers only an exact hit.
    """
    lower, upper = equal_tailed(draws, prob)
    y = np.asarray(y, dtype=float)
    return (y >= lower) & (y <= upper)


def interval_width(draws: Any, prob: float = 0.9) -> np.ndarray:
    """Width of the equal-tailed ``prob`` interval of the draws (0 for a point prediction)."""
    lower, upper = equal_tailed(draws, prob)
    return upper - lower


def crps(draws: Any, y: Any) -> np.ndarray:
    """Continuous ranked probability score of the empirical distribution of the draws.

    Uses the energy form ``E|X - y| - E|X - X'| / 2`` of the draws' empirical CDF, with the
    pairwise term computed exactly in ``O(n log n)`` from the sorted draws,
    ``sum_ij |x_i - x_j| = 2 sum_i (2 i - n - 1) x_(i)``.  Lower is better; for one draw it is
    the absolute error ``|x - y|``.  (This equals the ``"edf"`` estimator of R's
    ``scoringRules::crps_sample`` and arviz-stats' probability-weighted-moment form with equal
    weights.)

    Parameters
    ----------
    draws : array_like
        Draws on the last axis, shape ``(..., n_draws)``.
    y : array_like
        Observed values, broadcastable to ``draws.shape[:-1]``.

    Returns
    -------
    numpy.ndarray
        CRPS per case, in the units of ``y``.
    """
    x = np.sort(_draws(draws), axis=-1)
    y = np.asarray(y, dtype=float)
    n = x.shape[-1]
    spread = np.abs(x - y[..., None]).mean(axis=-1)
    weights = 2 * np.arange(1, n + 1) - n - 1
    pairwise = 2 * (x * weights).sum(axis=-1) / n**2  # mean over ordered pairs of |x_i - x_j|
    return spread - 0.5 * pairwise


def pit(draws: Any, y: Any) -> np.ndarray:
    """Probability integral transform ``P(X < y) + P(X = y) / 2`` under the draws.

    Calibrated predictions give uniform PIT values; ``y`` is inside the equal-tailed ``p``
    interval roughly when ``|pit - 1/2| <= p / 2``.
    """
    x = _draws(draws)
    y = np.asarray(y, dtype=float)[..., None]
    return (x < y).mean(axis=-1) + 0.5 * (x == y).mean(axis=-1)


def log_predictive_density(
    draws: Any,
    y: Any,
    *,
    scale: str = "logit",
    bw_floor: float | None = None,
    min_draws: int = 20,
    eps: float = 1e-4,
) -> np.ndarray:
    """Log predictive density of ``y`` under a Gaussian kernel density estimate of the draws.

    The KDE bandwidth per case is Silverman's rule, ``0.9 min(sd, IQR / 1.34) n^(-1/5)``, but at
    least ``bw_floor`` (in the units of the chosen scale) so that near-degenerate draws do not
    yield absurd densities.  With ``scale="logit"`` (default) the KDE is built on
    ``logit(draws)`` and transformed back with the Jacobian, ``log p(y) = log q(logit y) -
    log(y (1 - y))``, which respects the [0, 1] range of scores; values are clipped to
    ``[eps, 1 - eps]`` first.  The density is always that of the **score fraction** (so
    ``scale`` changes the estimator, not the units).

    Convention for point methods: cases with fewer than ``min_draws`` draws, or whose draws are
    all equal, get NaN (a point prediction has no density), so a method's mean log density is
    computed over its probabilistic cases only.

    Parameters
    ----------
    draws : array_like
        Score draws in [0, 1] on the last axis, shape ``(..., n_draws)``.
    y : array_like
        Observed scores, broadcastable to ``draws.shape[:-1]``.
    scale : {"logit", "identity"}, default "logit"
        Space the KDE is built in.
    bw_floor : float, optional
        Smallest bandwidth, in the units of ``scale``; default 0.01 for ``"logit"`` (0.0025
        score units at a score of 0.5) and 0.002 for ``"identity"``.
    min_draws : int, default 20
        Fewer draws than this give NaN.
    eps : float, default 1e-4
        Clipping for the logit transform.

    Returns
    -------
    numpy.ndarray
        Log density per case (natural log), shape ``draws.shape[:-1]`` broadcast with ``y``.
    """
    if scale not in ("logit", "identity"):
        raise ValueError(f"scale must be 'logit' or 'identity', got {scale!r}")
    x = _draws(draws)
    y = np.asarray(y, dtype=float)
    x, y = np.broadcast_arrays(x, y[..., None])
    y = y[..., 0]
    n = x.shape[-1]
    if n < min_draws:
        return np.full(y.shape, np.nan)
    if bw_floor is None:
        bw_floor = 0.01 if scale == "logit" else 0.002
    jac = np.zeros(y.shape)
    if scale == "logit":
        x = logit(np.clip(x, eps, 1 - eps))
        yc = np.clip(y, eps, 1 - eps)
        jac = -np.log(yc * (1 - yc))
        y = logit(yc)
    sd = x.std(axis=-1, ddof=1)
    q75, q25 = np.quantile(x, [0.75, 0.25], axis=-1)
    spread = np.where(q75 > q25, np.minimum(sd, (q75 - q25) / 1.34), sd)
    bw = np.maximum(0.9 * spread * n ** (-0.2), bw_floor)
    z = (y[..., None] - x) / bw[..., None]
    logq = logsumexp(-0.5 * z**2, axis=-1) - np.log(n * bw * math.sqrt(2 * math.pi))
    out = logq + jac
    return np.where(sd > 0, out, np.nan)


def score_draws(draws: Any, y: Any) -> dict[str, np.ndarray]:
    """Every score of one set of draws against ``y``: the metric columns of a backtest record."""
    d = _draws(draws)
    return {
        "abs_error": absolute_error(d, y),
        "covered50": covered(d, y, 0.5),
        "covered90": covered(d, y, 0.9),
        "width50": interval_width(d, 0.5),
        "width90": interval_width(d, 0.9),
        "crps": crps(d, y),
        "log_density": log_predictive_density(d, y),
        "pit": pit(d, y),
    }


# ====================================================================== splits
@dataclass(frozen=True, eq=False)
class Split:
    """One backtest split.

    Attributes
    ----------
    name : str
        Label, e.g. ``"largest"`` or ``"family=olmo"``.
    train : Ladder or None
        Ladder the methods are fitted on (``None`` when skipped).
    test : Ladder or None
        Ladder of the held-out models (with their compute and actual scores).
    reason : str or None
        Why the split cannot be run (``None`` for a usable split).
    """

    name: str
    train: Ladder | None
    test: Ladder | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the split can be run."""
        return self.reason is None

    @property
    def held_out(self) -> list[str]:
        """Names of the held-out models."""
        return [] if self.test is None else list(self.test.models.index)


def _split(name: str, ladder: Ladder, held: Sequence[str], min_rungs: int) -> Split:
    """Hold ``held`` out of ``ladder``; skipped if fewer than ``min_rungs`` rungs remain."""
    rungs = [m for m in ladder.ladder_models if m not in set(held)]
    if not held:
        return Split(name, None, None, "no model to hold out")
    if len(rungs) < min_rungs:
        return Split(
            name, None, None,
            f"holding out {len(held)} of {len(ladder.ladder_models)} ladder models leaves "
            f"{len(rungs)} rung(s) for training; need at least {min_rungs}",
        )  # fmt: skip
    return Split(name, ladder.drop(held), ladder.select(held))


def _families(models: pd.DataFrame) -> pd.Series:
    fam = models["family"] if "family" in models else pd.Series(index=models.index, dtype=object)
    fam = fam.astype(object).where(fam.notna(), "")
    return fam.map(lambda f: str(f).strip() or NO_FAMILY)


def holdout_splits(
    ladder: Ladder,
    holdout: str = "largest",
    k: int = 2,
    *,
    min_rungs: int = MIN_LADDER_MODELS,
) -> list[Split]:
    """Backtest splits of a ladder.

    Parameters
    ----------
    ladder : Ladder
        Ladder (and anchor) models with item-level results.
    holdout : {"largest", "k-largest", "family"}
        * ``"largest"``: one split holding out the largest-compute ladder model.
        * ``"k-largest"``: one split holding out the ``k`` largest ladder models together (each is
          predicted at its own compute, so the extrapolation distance varies).
        * ``"family"``: for ladders of several families (``models.family``), one split per family,
          training on that family's ladder models only (plus every anchor) and holding out its
          largest ladder model.  Models without a family form the family ``"(no family)"``.
    k : int, default 2
        Number of models held out by ``"k-largest"``.
    min_rungs : int, default 3
        Fewest ladder rungs the training ladder must keep; splits with fewer are returned with
        a ``reason`` and skipped by :func:`backtest`.

    Returns
    -------
    list of Split
    """
    rungs = ladder.ladder_models
    if holdout == "largest":
        return [_split("largest", ladder, rungs[-1:], min_rungs)]
    if holdout == "k-largest":
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        return [_split(f"{k}-largest", ladder, rungs[-k:], min_rungs)]
    if holdout == "family":
        fam = _families(ladder.models)
        anchors = ladder.anchor_models
        splits = []
        for family in dict.fromkeys(fam[rungs]):  # families in order of their smallest rung
            members = [m for m in rungs if fam[m] == family]
            sub = ladder.select([*members, *anchors])
            splits.append(_split(f"family={family}", sub, members[-1:], min_rungs))
        return splits
    raise ValueError(f"holdout must be one of {HOLDOUTS}, got {holdout!r}")


# ====================================================================== backtest result
def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def summarise(records: pd.DataFrame) -> pd.Series:
    """Summary metrics of a set of backtest records (one method): the :data:`SUMMARY_COLUMNS`."""
    err = records["median"] - records["actual"]
    return pd.Series(
        {
            "mae": records["abs_error"].mean(),
            "max_error": records["abs_error"].max(),
            "bias": err.mean(),
            "coverage50": records["covered50"].astype(float).mean(),
            "coverage90": records["covered90"].astype(float).mean(),
            "width50": records["width50"].mean(),
            "width90": records["width90"].mean(),
            "crps": records["crps"].mean(),
            "log_density": records["log_density"].mean(),  # NaN-skipping: probabilistic cases
            "n": len(records),
            "n_draws": records["n_draws"].min(),
        }
    )


def _group_summary(records: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """:func:`summarise` per group of ``keys`` (groups in order of appearance)."""
    if records.empty:
        index = (
            pd.MultiIndex.from_tuples([], names=keys)
            if len(keys) > 1
            else pd.Index([], name=keys[0])
        )
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS), index=index)
    groups = records.groupby(keys if len(keys) > 1 else keys[0], sort=False)
    out = pd.DataFrame({name: summarise(group) for name, group in groups}).T
    out.index.names = keys
    out = out.astype(float)
    out["n"] = out["n"].astype(int)
    out["n_draws"] = out["n_draws"].astype(int)
    return out


@dataclass(eq=False)
class BacktestResult:
    """Scores of every (split, method, benchmark, held-out model) case of a backtest.

    Attributes
    ----------
    records : pandas.DataFrame
        One row per case, columns :data:`RECORD_COLUMNS` (scores are fractions in [0, 1]).
    skipped : pandas.DataFrame
        One row per (split, method) that could not be run, columns :data:`SKIP_COLUMNS`;
        ``method`` is ``"*"`` when the whole split was skipped.
    holdout : str
        The holdout scheme.
    splits : list of str
        Names of all splits (run or skipped).
    """

    records: pd.DataFrame
    skipped: pd.DataFrame
    holdout: str = "largest"
    splits: list[str] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        """Method names in the order they were run (including fully skipped ones)."""
        names = list(self.records["method"]) + list(self.skipped["method"])
        return [m for m in dict.fromkeys(names) if m != "*"]

    def per_benchmark(self) -> pd.DataFrame:
        """Summary metrics per (method, benchmark), index ``(method, benchmark)``."""
        return _group_summary(self.records, ["method", "benchmark"])

    def overall(self) -> pd.DataFrame:
        """Summary metrics per method over all cases (index ``method``).

        Columns: ``mae`` (mean absolute error of the median), ``max_error``, ``bias`` (mean of
        median - actual), ``coverage50``/``coverage90`` (share of actual scores inside the
        equal-tailed 50 %/90 % intervals), ``width50``/``width90`` (mean interval widths), ``crps``
        (mean CRPS), ``log_density`` (mean log predictive density over cases that have one) and
        ``n`` (number of cases) and ``n_draws`` (fewest draws of a case; 1 for point methods,
        whose zero-width intervals cover nothing, so their coverage is 0 by construction).
        """
        return _group_summary(self.records, ["method"])

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``holdout``, ``splits``, ``overall`` and ``per_benchmark`` (method ->
        metrics, NaN as ``null``), ``records`` and ``skipped`` (lists of rows)."""
        overall = {
            str(m): {k: _json_value(v) for k, v in row.items()}
            for m, row in self.overall().iterrows()
        }
        per_bench: dict[str, dict[str, Any]] = {}
        for (m, b), row in self.per_benchmark().iterrows():
            per_bench.setdefault(str(m), {})[str(b)] = {k: _json_value(v) for k, v in row.items()}
        return {
            "holdout": self.holdout,
            "splits": list(self.splits),
            "overall": overall,
            "per_benchmark": per_bench,
            "records": _records_json(self.records),
            "skipped": _records_json(self.skipped),
        }

    def format_table(self, *, per_benchmark: bool = True) -> str:
        """Readable text: per-method summary (errors, widths and CRPS in percentage points),
        optionally per benchmark, then the skipped (split, method) pairs with their reasons."""
        lines = [f"backtest ({self.holdout}; splits: {', '.join(self.splits) or 'none'})"]
        header = (
            f"{'method':<16}{'benchmark':<16}{'n':>4}{'MAE':>7}{'max':>7}{'bias':>7}"
            f"{'cov50':>7}{'cov90':>7}{'w50':>7}{'w90':>7}{'CRPS':>7}{'logdens':>9}"
        )

        def num(value: float, width: int = 7) -> str:
            return f"{value:>{width}.2f}" if np.isfinite(value) else f"{'-':>{width}}"

        def row(method: str, bench: str, s: pd.Series) -> str:
            point = s["n_draws"] <= 1  # no interval: coverage and widths are not shown
            cells = [100 * s["mae"], 100 * s["max_error"], 100 * s["bias"]]
            cells += [np.nan] * 4 if point else [s["coverage50"], s["coverage90"]]
            cells += [] if point else [100 * s["width50"], 100 * s["width90"]]
            cells.append(100 * s["crps"])
            return (
                f"{method:<16}{bench:<16}{int(s['n']):>4}"
                + "".join(num(v) for v in cells)
                + num(s["log_density"], 9)
            )

        if self.records.empty:
            lines.append("no case was scored")
        else:
            lines.append(
                "MAE, max, bias, widths and CRPS in percentage points; cov = coverage; "
                "'-' = not defined (point method)"
            )
            lines.append(header)
            for method, s in self.overall().iterrows():
                lines.append(row(str(method), "(all)", s))
            if per_benchmark:
                lines.append("")
                lines.append(header)
                for (method, bench), s in self.per_benchmark().iterrows():
                    lines.append(row(str(method), str(bench), s))
        if not self.skipped.empty:
            lines.append("")
            lines.append("skipped:")
            for _, s in self.skipped.iterrows():
                lines.append(f"  {s['split']} / {s['method']} ({s['stage']}): {s['reason']}")
        return "\n".join(lines)


# ====================================================================== backtest
MethodSpec = Any  # a method name, a Predictor instance or a zero-argument factory


def _factories(
    methods: Sequence[str] | Mapping[str, MethodSpec],
    method_params: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, Callable[[], Any]]:
    """Name -> factory giving a fresh, unfitted predictor for every split."""
    from codbayes.methods import get_method

    params = dict(method_params or {})
    common = dict(params.pop("*", {}))

    def by_name(name: str) -> Callable[[], Any]:
        kwargs = {**common, **params.get(name, {})}
        return lambda: get_method(name, **kwargs)

    if isinstance(methods, str):
        methods = [methods]
    if not isinstance(methods, Mapping):
        return {name: by_name(name) for name in methods}
    out: dict[str, Callable[[], Any]] = {}
    for label, spec in methods.items():
        if isinstance(spec, str):
            out[label] = by_name(spec)
        elif hasattr(spec, "fit") and hasattr(spec, "predict"):
            out[label] = lambda spec=spec: clone(spec)
        elif callable(spec):
            out[label] = spec
        else:
            raise TypeError(f"method {label!r}: expected a name, a predictor or a factory")
    return out


def clone(predictor: Any) -> Any:
    """A fresh unfitted copy of ``predictor`` (from ``get_params`` when it has them)."""
    if hasattr(predictor, "get_params"):
        try:
            return type(predictor)(**predictor.get_params())
        except TypeError:
            pass
    return copy.deepcopy(predictor)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def score_prediction(
    prediction: Prediction, test: Ladder, *, split: str = "", method: str | None = None
) -> pd.DataFrame:
    """Score a prediction made at the compute of ``test``'s models against their actual scores.

    ``prediction.target_flops`` must be the held-out models' compute, in the order of
    ``test.models``.  Benchmarks the prediction lacks, or cases without an actual score, are left
    out.  Returns records with the columns of :data:`RECORD_COLUMNS` except the split-level ones
    (``seconds``, ``train_max_flops``), which :func:`backtest` fills in.
    """
    actual = test.scores()
    models = list(test.models.index)
    flops = test.compute.to_numpy(dtype=float)
    if prediction.target_flops.size != len(models):
        raise ValueError(
            f"prediction has {prediction.target_flops.size} targets for {len(models)} models"
        )
    rows = []
    for b, bench in enumerate(prediction.benchmarks):
        if bench not in actual.columns:
            continue
        y = actual[bench].to_numpy(dtype=float)
        draws = prediction.draws[b]  # (n_targets, n_draws)
        keep = np.isfinite(y)
        if not keep.any():
            continue
        scores = score_draws(draws[keep], y[keep])
        q = np.quantile(draws[keep], list(QUANTILES.values()), axis=-1)
        for j, t in enumerate(np.flatnonzero(keep)):
            row: dict[str, Any] = {
                "split": split,
                "method": method or prediction.method,
                "benchmark": bench,
                "model": models[t],
                "flops": flops[t],
                "actual": y[t],
                "median": float(np.median(draws[t])),
                "mean": float(draws[t].mean()),
            }
            row.update({name: float(q[i, j]) for i, name in enumerate(QUANTILES)})
            row.update({k: v[j].item() for k, v in scores.items()})
            row["n_draws"] = prediction.n_draws
            row["max_rhat"] = float(prediction.diagnostics.get("max_rhat", math.nan))
            row["divergences"] = float(prediction.diagnostics.get("divergences", math.nan))
            rows.append(row)
    return pd.DataFrame(rows)


def backtest(
    ladder: Ladder,
    methods: Sequence[str] | Mapping[str, MethodSpec],
    holdout: str = "largest",
    k: int = 2,
    method_params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool = False,
    *,
    raise_errors: bool = False,
) -> BacktestResult:
    """Fit every method on each split's training ladder and score its held-out predictions.

    Parameters
    ----------
    ladder : Ladder
        The full ladder (including the models to hold out).
    methods : sequence of str or mapping
        Method names from :data:`codbayes.methods.REGISTRY`, or a mapping label -> method name,
        unfitted predictor (cloned for every split) or zero-argument factory returning one.
    holdout : {"largest", "k-largest", "family"}
        Split scheme, see :func:`holdout_splits`.
    k : int, default 2
        Models held out by ``"k-largest"``.
    method_params : mapping, optional
        Constructor parameters per method name (key ``"*"``: for every method; parameters a method
        does not take are ignored by :func:`codbayes.methods.get_method`), e.g.
        ``{"*": {"seed": 1}, "cod-bayes": {"draws": 500}}``.
    progress : bool, default False
        Show a progress bar (tqdm, on stderr) over (split, method) fits.
    raise_errors : bool, default False
        Re-raise a method's exception instead of recording it as skipped (for debugging).

    Returns
    -------
    BacktestResult
        ``records`` of every scored case and ``skipped`` (split, method, stage, error, reason)
        for splits that could not be made and methods that failed to fit or predict (e.g. FLP
        without loss data raises :class:`codbayes.errors.InputError`).
    """
    from tqdm.auto import tqdm

    factories = _factories(methods, method_params)
    splits = holdout_splits(ladder, holdout, k)
    records: list[pd.DataFrame] = []
    skipped: list[dict[str, Any]] = []
    runnable = [s for s in splits if s.ok]
    for s in splits:
        if not s.ok:
            skipped.append(
                {"split": s.name, "method": "*", "stage": "split", "error": "", "reason": s.reason}
            )
    bar = tqdm(
        total=len(runnable) * len(factories), disable=not progress, file=sys.stderr, leave=False
    )
    try:
        for s in runnable:
            assert s.train is not None and s.test is not None
            target = s.test.compute.to_numpy(dtype=float)
            train_max = float(s.train.compute[s.train.ladder_models].max())
            for label, factory in factories.items():
                bar.set_description(f"{s.name}: {label}")
                stage = "build"
                start = time.perf_counter()
                try:
                    predictor = factory()
                    stage = "fit"
                    predictor.fit(s.train)
                    stage = "predict"
                    prediction = predictor.predict(target)
                    stage = "score"
                    frame = score_prediction(prediction, s.test, split=s.name, method=label)
                except Exception as exc:
                    if raise_errors:
                        raise
                    skipped.append(
                        {
                            "split": s.name,
                            "method": label,
                            "stage": stage,
                            "error": type(exc).__name__,
                            "reason": _reason(exc),
                        }
                    )
                else:
                    if frame.empty:
                        skipped.append(
                            {
                                "split": s.name,
                                "method": label,
                                "stage": "score",
                                "error": "",
                                "reason": "no predicted benchmark has an actual score of the "
                                f"held-out model(s) {s.held_out}",
                            }
                        )
                        bar.update()
                        continue
                    frame["seconds"] = time.perf_counter() - start
                    frame["train_max_flops"] = train_max
                    records.append(frame)
                bar.update()
    finally:
        bar.close()
    nonempty = [r for r in records if not r.empty]
    table = pd.concat(nonempty, ignore_index=True) if nonempty else pd.DataFrame()
    table = table.reindex(columns=list(RECORD_COLUMNS))
    for col in ("covered50", "covered90"):
        table[col] = table[col].astype(bool)
    return BacktestResult(
        records=table,
        skipped=pd.DataFrame(skipped, columns=list(SKIP_COLUMNS)),
        holdout=holdout,
        splits=[s.name for s in splits],
    )
