"""Figures: cluster scaling curves, prediction fans, the subset-to-full mapping, calibration.

Every function draws with matplotlib and returns the :class:`matplotlib.figure.Figure` (it never
calls ``plt.show()``); pass ``ax`` to draw into an existing axes where offered.  Scores are shown
as fractions in [0, 1]; compute on a log axis in FLOPs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from codbayes.data.ladder import Ladder
from codbayes.laws import cod_law
from codbayes.prediction import Prediction
from codbayes.subset import ClusteredBenchmark

LAW_PARAMS = ("g", "a", "b", "c")
EXTRAPOLATABLE_COLOR = "C0"
OTHER_COLOR = "0.55"


def _new_axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _band(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed ``prob`` band of draws on axis 0."""
    lo, hi = np.quantile(draws, [(1 - prob) / 2, 1 - (1 - prob) / 2], axis=0)
    return lo, hi


# ====================================================================== cluster curves
def _param_draws(
    draws: Any, n_clusters: int, names: Mapping[str, str] | None
) -> dict[str, np.ndarray]:
    """Law-parameter draws as arrays ``(n_draws, n_clusters)`` from a mapping or xarray object."""
    names = {p: p for p in LAW_PARAMS} | dict(names or {})
    if hasattr(draws, "children") and "posterior" in draws.children:  # DataTree
        draws = draws["posterior"].to_dataset()
    out = {}
    for p in LAW_PARAMS:
        value = draws[names[p]]
        if hasattr(value, "dims") and {"chain", "draw"} <= set(value.dims):
            value = value.stack(sample=("chain", "draw")).transpose("sample", ...)
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0:
            arr = np.full((1, n_clusters), float(arr))
        elif arr.ndim == 1:  # one value per cluster (e.g. a fixed guess level)
            arr = arr[None, :] if arr.size == n_clusters else arr[:, None]
        out[p] = np.broadcast_to(arr.reshape(arr.shape[0], -1), (arr.shape[0], n_clusters))
    return out


def plot_cluster_curves(
    clustered: ClusteredBenchmark,
    draws: Any = None,
    *,
    target_flops: float | None = None,
    max_clusters: int | None = None,
    ncols: int = 4,
    prob: float = 0.9,
    param_names: Mapping[str, str] | None = None,
    n_grid: int = 200,
) -> Figure:
    """Per-cluster scaling curves with the ladder points, extrapolated to a target compute.

    One panel per cluster (largest clusters first when ``max_clusters`` limits them).
    Extrapolatable clusters are drawn in colour with a solid curve, the others in grey with a
    dashed curve; ladder rungs are filled dots, anchor models hollow squares, the target compute a
    dotted vertical line.

    Parameters
    ----------
    clustered : ClusteredBenchmark
        Clusters with point fits (``g, a, b, c``) and per-model cluster accuracies.
    draws : mapping or xarray.Dataset or xarray.DataTree, optional
        Posterior draws of the law parameters: ``g, a, b, c`` each of shape ``(n_draws,
        n_clusters)`` (a scalar or a per-cluster vector is broadcast), or a posterior with
        ``chain, draw`` dims.  When given, the median curve and an equal-tailed ``prob`` band
        replace the point fit.
    target_flops : float, optional
        Compute to extrapolate to (default: 30 x the largest ladder rung).
    max_clusters : int, optional
        Show at most this many clusters (the largest).
    ncols : int, default 4
        Panels per row.
    prob : float, default 0.9
        Mass of the credible band.
    param_names : mapping, optional
        Names of the posterior variables for ``g, a, b, c`` if they differ.
    n_grid : int, default 200
        Points per curve.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per shown cluster.
    """
    table = clustered.clusters
    order = np.arange(len(table))
    if max_clusters is not None:
        order = np.argsort(-table["size"].to_numpy(), kind="stable")[:max_clusters]
        order.sort()
    n = max(len(order), 1)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig = Figure(figsize=(3.0 * ncols, 2.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True).ravel()
    for extra in axes[len(order) :]:
        fig.delaxes(extra)
    if not len(order):
        return fig
    ladder_max = clustered.compute[clustered.is_ladder].max()
    target = float(target_flops) if target_flops is not None else 30 * ladder_max
    hi = max(target, clustered.compute.max()) * 1.5
    flops = np.geomspace(clustered.compute.min() / 1.5, hi, n_grid)
    x = flops / clustered.compute_unit
    pdraws = None if draws is None else _param_draws(draws, len(table), param_names)
    for ax, i in zip(axes, order, strict=False):
        row = table.iloc[i]
        good = bool(row["extrapolatable"])
        color = EXTRAPOLATABLE_COLOR if good else OTHER_COLOR
        style = "-" if good else "--"
        if pdraws is None:
            curve = cod_law(x, *(float(row[p]) for p in LAW_PARAMS))
            ax.plot(flops, curve, style, color=color, lw=1.5)
        else:
            params = [pdraws[p][:, [i]] for p in LAW_PARAMS]
            curves = cod_law(x[None, :], *params)
            lo, up = _band(curves, prob)
            ax.fill_between(flops, lo, up, color=color, alpha=0.25, lw=0)
            ax.plot(flops, np.median(curves, axis=0), style, color=color, lw=1.5)
        ladder, anchor = clustered.is_ladder, ~clustered.is_ladder
        ax.plot(clustered.compute[ladder], clustered.accuracy[i, ladder], "o", color="k", ms=3.5)
        if anchor.any():
            ax.plot(
                clustered.compute[anchor], clustered.accuracy[i, anchor], "s",
                mfc="none", mec="k", ms=4.5,
            )  # fmt: skip
        ax.axvline(target, color="0.3", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(
            f"cluster {table.index[i]}: {int(row['size'])} items, {row['cls']}", fontsize=8
        )
        ax.tick_params(labelsize=7)
    fig.supxlabel("training compute (FLOPs)", fontsize=9)
    fig.supylabel("cluster accuracy", fontsize=9)
    fig.suptitle(
        f"{clustered.benchmark}: {clustered.n_extrapolatable} of {clustered.n_clusters} clusters "
        f"extrapolatable ({clustered.subset_fraction:.0%} of items)",
        fontsize=10,
    )
    return fig


# ====================================================================== fan chart
def _as_prediction(source: Any, flops_grid: np.ndarray | None) -> Prediction:
    if isinstance(source, Prediction):
        return source
    if hasattr(source, "predict"):
        if flops_grid is None:
            raise ValueError("flops_grid is needed to predict with a fitted predictor")
        return source.predict(flops_grid)
    raise TypeError(f"expected a Prediction or a fitted predictor, got {type(source)!r}")


def _actual_points(actual: Any, benchmark: str) -> list[tuple[float, float, str]]:
    """Actual (flops, score, label) points from a Ladder, a mapping or (flops, score) pairs."""
    if actual is None:
        return []
    if isinstance(actual, Ladder):
        scores = actual.scores()
        if benchmark not in scores.columns:
            return []
        return [
            (float(actual.compute[m]), float(scores.loc[m, benchmark]), str(m))
            for m in actual.models.index
            if np.isfinite(scores.loc[m, benchmark])
        ]
    if isinstance(actual, Mapping):
        return [(float(f), float(s), str(name)) for name, (f, s) in actual.items()]
    arr = np.atleast_2d(np.asarray(actual, dtype=float))
    return [(float(f), float(s), "actual") for f, s in arr]


def plot_fan(
    source: Any,
    benchmark: str,
    flops_grid: Sequence[float] | np.ndarray | None = None,
    actual: Any = None,
    *,
    ladder: Ladder | None = None,
    ax: Axes | None = None,
    probs: tuple[float, float] = (0.5, 0.9),
) -> Figure:
    """Predicted score distribution versus compute: 50 %/90 % bands and the median.

    Parameters
    ----------
    source : Predictor, Prediction or mapping of label to either
        A fitted predictor (predicted at ``flops_grid``), a :class:`Prediction` whose
        ``target_flops`` are the grid, or several of them by label (one fan each, for comparing
        methods).
    benchmark : str
        Benchmark to show.
    flops_grid : array_like, optional
        Target computes (FLOPs); needed for predictors.
    actual : Ladder, mapping or array_like, optional
        Actual scores of target models: a ladder of held-out models (e.g. a backtest split's
        ``test``), a mapping ``model -> (flops, score)`` or ``(flops, score)`` pair(s).  Shown as
        red stars.
    ladder : Ladder, optional
        Ladder whose observed scores are shown (default: the predictor's ``ladder_`` if any).
        Ladder rungs are black dots, anchors hollow squares.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    probs : (float, float), default (0.5, 0.9)
        Band masses.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _new_axes(ax)
    grid = None if flops_grid is None else np.asarray(flops_grid, dtype=float)
    sources = source if isinstance(source, Mapping) else {None: source}
    for n, (label, src) in enumerate(sources.items()):
        pred = _as_prediction(src, grid)
        if ladder is None:
            ladder = getattr(src, "ladder_", None)
        d = pred.draws[pred.benchmarks.index(benchmark)]  # (n_targets, n_draws)
        order = np.argsort(pred.target_flops)
        f, d = pred.target_flops[order], d[order].T
        color = f"C{n}"
        name = label or pred.method
        for prob, alpha in zip(sorted(probs, reverse=True), (0.18, 0.35), strict=False):
            lo, hi = _band(d, prob)
            if np.any(hi > lo):
                ax.fill_between(f, lo, hi, color=color, alpha=alpha, lw=0,
                                label=f"{name} {prob:.0%}")  # fmt: skip
        ax.plot(f, np.median(d, axis=0), color=color, lw=1.8, label=f"{name} median")
    if ladder is not None and benchmark in ladder.scores().columns:
        scores = ladder.scores()[benchmark]
        rungs, anchors = ladder.ladder_models, ladder.anchor_models
        ax.plot(ladder.compute[rungs], scores[rungs], "o", color="k", ms=4, label="ladder")
        if anchors:
            ax.plot(ladder.compute[anchors], scores[anchors], "s", mfc="none", mec="k", ms=5,
                    label="anchor")  # fmt: skip
    points = _actual_points(actual, benchmark)
    if points:
        pf, ps, _ = zip(*points, strict=True)
        ax.plot(pf, ps, "*", color="C3", ms=11, mec="k", mew=0.5, label="actual")
    ax.set_xscale("log")
    ax.set_xlabel("training compute (FLOPs)")
    ax.set_ylabel(f"{benchmark} score")
    ax.legend(fontsize=7, loc="best")
    return fig


# ====================================================================== mapping
def _mapping_curves(mapping: Any, grid: np.ndarray) -> np.ndarray:
    """Mapping values on ``grid`` as ``(n_draws, n_grid)``."""
    values = mapping(grid) if callable(mapping) else mapping
    arr = np.atleast_2d(np.asarray(values, dtype=float))
    if arr.shape[-1] != grid.size:
        raise ValueError(f"mapping values have {arr.shape[-1]} points, the grid {grid.size}")
    return arr


def plot_mapping(
    clustered: ClusteredBenchmark,
    mapping: Callable[[np.ndarray], np.ndarray] | np.ndarray,
    *,
    anchors: Mapping[str, tuple[float, float]] | np.ndarray | None = None,
    grid: np.ndarray | None = None,
    target_subset: float | np.ndarray | None = None,
    prob: float = 0.9,
    ax: Axes | None = None,
) -> Figure:
    """The subset-to-full mapping curve with the ladder and anchor (subset, full) points.

    Parameters
    ----------
    clustered : ClusteredBenchmark
        Gives the observed subset and full scores of its models (ladder rungs: dots; anchors:
        hollow squares).
    mapping : callable or numpy.ndarray
        ``f(subset_grid)`` returning ``(n_grid,)`` (a point mapping) or ``(n_draws, n_grid)``
        (posterior draws; shown as median and ``prob`` band), or those values directly.
    anchors : mapping or array_like, optional
        Extra anchor points ``name -> (subset, full)`` or an ``(n, 2)`` array, e.g. anchors not
        in ``clustered``.
    grid : numpy.ndarray, optional
        Subset scores to evaluate at (default 201 points on [0, 1]); must match ``mapping``'s
        values when those are given directly.
    target_subset : float or numpy.ndarray, optional
        Predicted subset score of the target (a value or draws); shown as a vertical line (and a
        shaded ``prob`` interval for draws).
    prob : float, default 0.9
        Band mass.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _new_axes(ax, (4.8, 4.4))
    grid = np.linspace(0.0, 1.0, 201) if grid is None else np.asarray(grid, dtype=float)
    curves = _mapping_curves(mapping, grid)
    ax.plot([0, 1], [0, 1], ":", color="0.6", lw=1, label="identity")
    if curves.shape[0] > 1:
        lo, hi = _band(curves, prob)
        ax.fill_between(grid, lo, hi, color="C0", alpha=0.25, lw=0, label=f"{prob:.0%} band")
    ax.plot(grid, np.median(curves, axis=0), color="C0", lw=1.8, label="mapping")
    ladder = clustered.is_ladder
    ax.plot(clustered.subset_score[ladder], clustered.full_score[ladder], "o", color="k", ms=4,
            label="ladder")  # fmt: skip
    extra = []
    if (~ladder).any():
        extra.append(np.column_stack([clustered.subset_score[~ladder],
                                      clustered.full_score[~ladder]]))  # fmt: skip
    if anchors is not None:
        pts = list(anchors.values()) if isinstance(anchors, Mapping) else anchors
        extra.append(np.atleast_2d(np.asarray(pts, dtype=float)))
    if extra:
        pts = np.vstack(extra)
        ax.plot(pts[:, 0], pts[:, 1], "s", mfc="none", mec="k", ms=6, label="anchor")
    if target_subset is not None:
        t = np.atleast_1d(np.asarray(target_subset, dtype=float))
        if t.size > 1:
            lo, hi = np.quantile(t, [(1 - prob) / 2, 1 - (1 - prob) / 2])
            ax.axvspan(lo, hi, color="C3", alpha=0.15, lw=0)
        ax.axvline(float(np.median(t)), color="C3", ls="--", lw=1, label="target subset")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predictable-subset score")
    ax.set_ylabel("full-benchmark score")
    ax.set_title(f"{clustered.benchmark}: subset-to-full mapping", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    return fig


# ====================================================================== calibration
def coverage_curve(records: pd.DataFrame, levels: np.ndarray) -> pd.DataFrame:
    """Empirical coverage of equal-tailed intervals per method at nominal ``levels``.

    Computed from the PIT values of the records: the actual score lies inside the central ``p``
    interval when ``|pit - 1/2| <= p / 2``.  Returns a levels x methods frame.
    """
    out = {}
    for method, group in records.groupby("method", sort=False):
        dev = np.abs(group["pit"].to_numpy(dtype=float) - 0.5)
        out[method] = [(dev <= p / 2 + 1e-12).mean() for p in levels]
    return pd.DataFrame(out, index=pd.Index(levels, name="nominal"))


def plot_calibration(
    result: Any,
    *,
    levels: Sequence[float] | np.ndarray | None = None,
    methods: Sequence[str] | None = None,
    bins: int = 10,
) -> Figure:
    """Calibration of a backtest: interval coverage versus nominal level, and PIT histograms.

    Left: empirical coverage of the central intervals against their nominal level per method,
    with the diagonal and a 95 % binomial band for the number of cases.  Right: histogram of PIT
    values per method (flat = calibrated; U-shaped = over-confident; hump = under-confident).
    Point methods have PIT 0 or 1 and zero coverage at every level.

    Parameters
    ----------
    result : BacktestResult or pandas.DataFrame
        A backtest result or its ``records`` (needs ``method`` and ``pit``).
    levels : array_like, optional
        Nominal levels (default 0.1, 0.2, ..., 0.9, 0.95).
    methods : sequence of str, optional
        Methods to show (default: all).
    bins : int, default 10
        PIT histogram bins.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: coverage, PIT histogram.
    """
    records = result.records if hasattr(result, "records") else result
    if methods is not None:
        records = records[records["method"].isin(list(methods))]
    levels = np.r_[np.arange(1, 10) / 10, 0.95] if levels is None else np.asarray(levels, float)
    cov = coverage_curve(records, levels)
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax_cov, ax_pit = fig.subplots(1, 2)
    ax_cov.plot([0, 1], [0, 1], ":", color="0.5", lw=1)
    n_cases = records.groupby("method").size()
    if len(n_cases):
        n = int(n_cases.min())
        p = np.linspace(0, 1, 101)
        half = 1.96 * np.sqrt(p * (1 - p) / n)
        ax_cov.fill_between(p, p - half, p + half, color="0.85", lw=0, label=f"95 % band, n={n}")
    edges = np.linspace(0, 1, bins + 1)
    for k, method in enumerate(cov.columns):
        color = f"C{k}"
        ax_cov.plot(levels, cov[method], "o-", color=color, ms=3.5, label=str(method))
        values = records.loc[records["method"] == method, "pit"].to_numpy(dtype=float)
        ax_pit.hist(values, bins=edges, density=True, histtype="step", color=color, lw=1.5,
                    label=str(method))  # fmt: skip
    ax_pit.axhline(1.0, color="0.5", ls=":", lw=1)
    ax_cov.set(
        xlim=(0, 1), ylim=(-0.02, 1.02), xlabel="nominal coverage", ylabel="empirical coverage"
    )
    ax_cov.set_title("central-interval coverage", fontsize=10)
    ax_pit.set(xlim=(0, 1), xlabel="PIT of the actual score", ylabel="density")
    ax_pit.set_title("PIT histogram", fontsize=10)
    ax_cov.legend(fontsize=7, loc="upper left")
    return fig
