"""A self-contained HTML report of a fit: tables and figures in one file, no server needed.

:func:`write_report` renders, for a fitted predictor or a saved fit,

* the training ladder (models, compute, observed scores) and the fit's provenance;
* predictions at the target compute(s) (and their errors when actual scores are given);
* per benchmark: the fan chart of predicted score against compute, the cluster scaling curves
  (posterior bands for ``cod-bayes``), the subset-to-full mapping;
* compute planning: ``P(score >= x)`` against compute and the compute needed for each threshold;
* MCMC diagnostics (R-hat and ESS of every parameter, divergences);
* optionally training monitoring (checkpoints) and backtest calibration.

Figures are embedded as base64 PNG (``<img src="data:image/png;base64,...">``); the page loads
nothing from the network.  The file is written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from codbayes._version import __version__
from codbayes.data.ladder import Ladder
from codbayes.decide import (
    flops_grid,
    ladder_compute,
    monitor,
    plan_from_prediction,
    plot_monitor,
    plot_probability_curve,
    predict_grid,
    probability_curve,
)
from codbayes.errors import InputError
from codbayes.plots import plot_calibration, plot_cluster_curves, plot_fan, plot_mapping
from codbayes.prediction import Prediction
from codbayes.subset import ClusteredBenchmark

__all__ = ["Report", "build_report", "figure_to_data_uri", "write_report"]

PathLike = str | os.PathLike
REPORT_FILE = "index.html"
DPI = 96
MAX_DRAWS = 400  # posterior draws used for curve bands (thinned)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
main{max-width:1150px;margin:0 auto;padding:1.5em 2em 4em;background:#fff}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #4a7ab5;padding-bottom:.2em;
margin-top:2em}h3{margin-top:1.5em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#eef2f7}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}.meta{color:#555;font-size:.9em}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em .8em;font-size:.9em}
nav a{margin-right:1em}
"""


# ============================================================================ building blocks
def figure_to_data_uri(fig: Figure, dpi: int = DPI) -> str:
    """A matplotlib figure as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class Report:
    """An HTML report under construction: sections of HTML fragments.

    Attributes
    ----------
    title : str
        Page title.
    sections : list of (str, str, list of str)
        ``(anchor, heading, fragments)``.
    n_figures : int
        Figures embedded so far.
    """

    title: str
    sections: list[tuple[str, str, list[str]]] = field(default_factory=list)
    n_figures: int = 0

    def section(self, anchor: str, heading: str) -> list[str]:
        """Start a section; returns its fragment list to append to."""
        parts: list[str] = []
        self.sections.append((anchor, heading, parts))
        return parts

    def figure(self, parts: list[str], fig: Figure, caption: str) -> None:
        """Embed ``fig`` as a PNG with a caption."""
        uri = figure_to_data_uri(fig)
        alt = html.escape(caption, quote=True)
        parts.append(f'<figure><img src="{uri}" alt="{alt}"><figcaption>{html.escape(caption)}'
                     "</figcaption></figure>")  # fmt: skip
        self.n_figures += 1

    def to_html(self) -> str:
        """The complete page."""
        nav = " ".join(f'<a href="#{a}">{html.escape(h)}</a>' for a, h, _ in self.sections)
        body = "\n".join(
            f'<section id="{a}"><h2>{html.escape(h)}</h2>\n' + "\n".join(parts) + "</section>"
            for a, h, parts in self.sections
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>"
            f"<body><main><h1>{html.escape(self.title)}</h1><nav>{nav}</nav>\n{body}\n"
            "</main></body></html>\n"
        )


def _table(frame: pd.DataFrame, *, index: bool = True, digits: int = 3) -> str:
    def fmt(v: float) -> str:
        if not math.isfinite(v):
            return "" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.{digits}g}"
        return f"{v:.{digits}f}".rstrip("0").rstrip(".") if "." in f"{v:.{digits}f}" else str(v)

    return frame.to_html(index=index, float_format=fmt, border=0, na_rep="", escape=True)


def _p(text: str, cls: str | None = None) -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<p{attr}>{html.escape(text)}</p>"


def _close(fig: Figure) -> None:
    fig.clear()


# ============================================================================ content helpers
def _posterior(predictor: Any) -> Any:
    idata = getattr(predictor, "idata_", None)
    if idata is None or "posterior" not in getattr(idata, "children", {}):
        return None
    return idata["posterior"].to_dataset()


def _thin(n: int, limit: int = MAX_DRAWS) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int))


def _flat(post: Any, name: str) -> np.ndarray:
    da = post[name]
    other = [d for d in da.dims if d not in ("chain", "draw")]
    values = da.transpose("chain", "draw", *other).values
    return values.reshape(-1, *values.shape[2:])


def cluster_draws(predictor: Any, cb: ClusteredBenchmark) -> dict[str, np.ndarray] | None:
    """Posterior draws of ``g, a, b, c`` for every cluster of ``cb`` (``None`` without posterior).

    Clusters outside the model (not in the law part) get their point fit repeated.  ``a`` is
    converted from the model's compute unit to ``cb.compute_unit``.
    """
    post = _posterior(predictor)
    data = getattr(predictor, "fit_data_", None)
    if post is None or data is None or not {"g", "a", "b", "c"} <= set(post.data_vars):
        return None
    coords = [str(c) for c in post["a"].coords["cluster"].values]
    index = {name: j for j, name in enumerate(coords)}
    flat = {p: _flat(post, p) for p in ("g", "a", "b", "c")}
    keep = _thin(flat["a"].shape[0])
    out = {p: np.empty((keep.size, cb.n_clusters)) for p in flat}
    ratio = cb.compute_unit / data.compute_unit
    for i, label in enumerate(cb.clusters.index):
        j = index.get(f"{cb.benchmark}:{label}")
        for p in flat:
            if j is None:
                out[p][:, i] = float(cb.clusters.iloc[i][p])
            elif p == "a":
                out[p][:, i] = flat["a"][keep, j] * ratio ** (-flat["b"][keep, j])
            else:
                out[p][:, i] = flat[p][keep, j]
    return out


def mapping_curves(
    predictor: Any, benchmark: str, grid: np.ndarray
) -> Callable[[np.ndarray], np.ndarray] | np.ndarray | None:
    """The subset-to-full mapping of ``benchmark``: posterior curves or the point mapping."""
    mappings = getattr(predictor, "mappings_", None)
    if mappings and benchmark in mappings:
        return mappings[benchmark]
    post = _posterior(predictor)
    data = getattr(predictor, "fit_data_", None)
    if post is None or data is None or "map_z" not in post.data_vars:
        return None
    if benchmark not in data.benchmarks:
        return None
    from codbayes.mapping_bayes import mapping_rest

    mcfg = predictor._merged_configs()[0]["mapping"]
    k = data.benchmarks.index(benchmark)
    z = _flat(post, "map_z")[:, k, :]
    z = z[_thin(z.shape[0])]
    rest = mapping_rest(
        grid[None, :],
        z[:, None, :],
        kind=mcfg["kind"],
        degree=int(mcfg["degree"]),
        free_ends=bool(mcfg["free_ends"]),
    )
    phi = float(data.phi[k])
    return phi * grid[None, :] + (1 - phi) * rest


def _subset_target(predictor: Any, benchmark: str, flops: float) -> float | None:
    fn = getattr(predictor, "predict_subset", None)
    if fn is None:
        return None
    try:
        value = np.asarray(fn([flops])[benchmark], dtype=float)
    except Exception:  # a report never fails on an optional marker
        return None
    return float(value[0]) if value.size and np.isfinite(value[0]) else None


def default_thresholds(prediction: Prediction, target: int = -1) -> dict[str, list[float]]:
    """Three round thresholds per benchmark around the predicted median at a target."""
    out = {}
    for b, bench in enumerate(prediction.benchmarks):
        median = float(np.median(prediction.draws[b, target]))
        centre = round(median * 20) / 20
        values = sorted({min(max(v, 0.05), 0.95) for v in (centre - 0.1, centre, centre + 0.1)})
        out[bench] = [round(v, 2) for v in values]
    return out


def _provenance(predictor: Any, fit_path: Path | None) -> pd.DataFrame:
    from codbayes.store import data_hash, fit_info

    rows: dict[str, Any] = {"method": getattr(predictor, "name", type(predictor).__name__)}
    if fit_path is not None:
        info = fit_info(fit_path)
        rows["saved fit"] = fit_path.name
        rows["fitted with codbayes"] = info.get("codbayes_version")
        rows["saved"] = info.get("created")
        rows["data hash (sha256)"] = info.get("data_hash")
    else:
        ladder = getattr(predictor, "ladder_", None)
        if isinstance(ladder, Ladder):
            rows["data hash (sha256)"] = data_hash(ladder)
    params = predictor.get_params() if hasattr(predictor, "get_params") else {}
    for key in ("seed", "draws", "tune", "chains", "subset", "cluster_method"):
        if key in params:
            rows[key] = params[key]
    rows["report by codbayes"] = __version__
    rows["generated"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    return pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows))


def _ladder_table(ladder: Ladder) -> pd.DataFrame:
    table = ladder.models[["role", "params", "tokens", "flops"]].copy()
    scores = ladder.scores()
    for bench in scores.columns:
        table[bench] = scores[bench]
    return table


def _diagnostics_figure(predictor: Any) -> tuple[Figure, pd.DataFrame] | None:
    """Histograms of R-hat and bulk ESS over the free parameters, and the worst ones."""
    post = _posterior(predictor)
    if post is None or post.sizes.get("draw", 0) < 4:
        return None
    import arviz as az

    idata = predictor.idata_
    names = list(post.data_vars)
    if "fit_data" in idata.children and "free_vars" in idata["fit_data"].attrs:
        import json

        free = json.loads(idata["fit_data"].attrs["free_vars"])
        names = [v for v in free if v in post.data_vars] or names
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ess = az.ess(post[names], method="bulk")
        rhat = az.rhat(post[names]) if post.sizes.get("chain", 1) >= 2 else None
    rows = []
    for name in names:
        e = np.asarray(ess[name].values, dtype=float).ravel()
        r = np.asarray(rhat[name].values, dtype=float).ravel() if rhat is not None else e * np.nan
        rows.append({"parameter": name, "size": e.size, "max R-hat": np.nanmax(r) if
                     np.isfinite(r).any() else np.nan, "min bulk ESS": np.nanmin(e)})  # fmt: skip
    table = pd.DataFrame(rows).set_index("parameter").sort_values("min bulk ESS")
    fig = Figure(figsize=(9.0, 3.2), layout="constrained")
    ax_r, ax_e = fig.subplots(1, 2)
    if rhat is not None:
        values = np.concatenate([np.asarray(rhat[n].values, float).ravel() for n in names])
        ax_r.hist(values[np.isfinite(values)], bins=30, color="C0")
        ax_r.axvline(1.01, color="C3", ls="--", lw=1, label="1.01")
        ax_r.legend(fontsize=7)
    ax_r.set(xlabel="R-hat", ylabel="parameters", title="R-hat (all free parameters)")
    values = np.concatenate([np.asarray(ess[n].values, float).ravel() for n in names])
    ax_e.hist(values[np.isfinite(values)], bins=30, color="C1")
    ax_e.axvline(400, color="C3", ls="--", lw=1, label="400")
    ax_e.legend(fontsize=7)
    ax_e.set(xlabel="bulk ESS", title="bulk ESS (all free parameters)")
    for ax in (ax_r, ax_e):
        ax.title.set_fontsize(10)
    return fig, table


# ============================================================================ report
def build_report(
    source: Any,
    *,
    actual: Ladder | None = None,
    title: str = "codbayes report",
    target_flops: float | Sequence[float] | None = None,
    thresholds: float | Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    prob: float = 0.9,
    checkpoints: PathLike | pd.DataFrame | None = None,
    backtest: Any = None,
    max_clusters: int = 12,
) -> Report:
    """Compute every table and figure of the report (see :func:`write_report`)."""
    from codbayes.store import as_predictor

    fit_path = Path(source) if isinstance(source, str | os.PathLike) else None
    predictor = as_predictor(source)
    ladder = getattr(predictor, "ladder_", None)
    rungs = ladder_compute(predictor)
    top = float(rungs[-1]) if rungs is not None and rungs.size else None
    if actual is not None and not isinstance(actual, Ladder):
        raise InputError("actual must be a Ladder of the target models", source="actual")
    actual_flops = (
        actual.compute.to_numpy(dtype=float) if actual is not None else np.array([], dtype=float)
    )
    if target_flops is None:
        targets = actual_flops[np.isfinite(actual_flops)]
        if not targets.size:
            if top is None:
                raise InputError("give target_flops: the predictor has no ladder")
            targets = np.array([30.0 * top])
    else:
        targets = np.atleast_1d(np.asarray(target_flops, dtype=float))
    report = Report(title)

    # ---------------------------------------------------------------- overview
    parts = report.section("overview", "Overview")
    parts.append(_table(_provenance(predictor, fit_path)))
    if isinstance(ladder, Ladder):
        parts.append("<h3>Training ladder</h3>")
        parts.append(_p(ladder.summary().splitlines()[0] + f": {len(ladder.ladder_models)} "
                        f"ladder models, {len(ladder.anchor_models)} anchors."))  # fmt: skip
        parts.append(_table(_ladder_table(ladder)))

    # ---------------------------------------------------------------- predictions
    prediction = predictor.predict(targets)
    parts = report.section("predictions", "Predictions")
    summary = prediction.summary().reset_index()
    parts.append(_table(summary, index=False))
    if actual is not None and np.isfinite(actual_flops).all():
        from codbayes.evaluate import score_prediction

        records = score_prediction(predictor.predict(actual_flops), actual)
        if len(records):
            cols = ["benchmark", "model", "flops", "actual", "median", "q05", "q95"]
            cols += [c for c in ("covered90", "pit", "abs_error", "crps") if c in records]
            parts.append("<h3>Against the actual scores</h3>")
            parts.append(_table(records[cols], index=False))
    lo = float(rungs[0]) / 1.5 if rungs is not None and rungs.size else float(targets.min()) / 30
    hi = max(float(targets.max()), top or 0.0) * 3
    grid = np.geomspace(lo, hi, 60)
    fan = predict_grid(predictor, grid, common_random_numbers=False)
    for bench in prediction.benchmarks:
        fig = plot_fan(
            fan, bench, actual=actual, ladder=ladder if isinstance(ladder, Ladder) else None
        )
        ax = fig.axes[0]
        for t in targets:
            ax.axvline(t, color="0.3", ls=":", lw=1)
        report.figure(parts, fig, f"{bench}: predicted score against compute (50 % / 90 % bands)")
        _close(fig)

    # ---------------------------------------------------------------- planning
    parts = report.section("planning", "Compute planning")
    plan_grid = flops_grid(predictor, (lo, max(hi, 1000 * (top or hi))), 81)
    curves = predict_grid(predictor, plan_grid)
    table = thresholds if thresholds is not None else default_thresholds(prediction)
    curve = probability_curve(curves, thresholds=table)
    plans = [
        plan_from_prediction(curves, bench, float(x), prob, reference_flops=top)
        for bench, part in curve.groupby("benchmark", sort=False)
        for x in pd.unique(part["threshold"])
    ]
    fig = plot_probability_curve(curve, prob=prob, plans=plans, reference_flops=top)
    report.figure(
        parts, fig, f"P(score >= threshold) against compute; dots: compute at P = {prob:.0%}"
    )
    _close(fig)
    rows = [
        {
            "benchmark": p.benchmark,
            "score >=": p.score,
            f"compute for P >= {prob:.0%}": p.flops,
            "x largest rung": p.flops / top if top else math.nan,
            "status": p.status,
            "run reaches it (median)": p.crossing_median,
            "5 %": p.crossing_q05,
            "95 %": p.crossing_q95,
        }
        for p in plans
    ]
    parts.append(_table(pd.DataFrame(rows), index=False))
    parts.append(_p("'compute for P' is the smallest compute at which the score is reached with "
                    "that probability; the last three columns are the spread of the compute at "
                    "which a single draw's curve first reaches the score.", "meta"))  # fmt: skip

    # ---------------------------------------------------------------- clusters and mapping
    clustered = getattr(predictor, "clustered_", None) or {}
    if clustered:
        parts = report.section("clusters", "Clusters and mappings")
        for bench, cb in clustered.items():
            parts.append(f"<h3>{html.escape(bench)}</h3>")
            cols = [c for c in ("size", "g", "a", "b", "c", "rmse", "cls") if c in cb.clusters]
            parts.append(_table(cb.clusters[cols]))
            if cb.fallback:
                parts.append(_p(f"Fallback: {cb.fallback}", "note"))
            if cb.n_clusters:
                draws = cluster_draws(predictor, cb)
                fig = plot_cluster_curves(cb, draws, target_flops=float(targets.max()),
                                          max_clusters=max_clusters, prob=prob)  # fmt: skip
                band = "posterior median and band" if draws is not None else "point fits"
                report.figure(parts, fig, f"{bench}: cluster scaling curves ({band})")
                _close(fig)
            s_grid = np.linspace(0.0, 1.0, 201)
            mapping = mapping_curves(predictor, bench, s_grid)
            if mapping is not None:
                target_s = _subset_target(predictor, bench, float(targets.max()))
                fig = plot_mapping(cb, mapping, grid=s_grid, target_subset=target_s, prob=prob)
                report.figure(parts, fig, f"{bench}: subset-to-full mapping")
                _close(fig)

    # ---------------------------------------------------------------- diagnostics
    parts = report.section("diagnostics", "Diagnostics")
    diag = {k: prediction.diagnostics.get(k, math.nan)
            for k in ("max_rhat", "min_ess_bulk", "divergences")}  # fmt: skip
    parts.append(_table(pd.DataFrame({"value": diag})))
    made = _diagnostics_figure(predictor)
    if made is None:
        parts.append(_p("No MCMC: this method has no sampler diagnostics.", "meta"))
    else:
        fig, worst = made
        report.figure(parts, fig, "Convergence: R-hat and bulk ESS of every free parameter")
        _close(fig)
        parts.append("<h3>Parameters with the smallest ESS</h3>")
        parts.append(_table(worst.head(15)))

    # ---------------------------------------------------------------- optional sections
    if checkpoints is not None:
        parts = report.section("monitoring", "Training monitoring")
        watch = monitor(predictor, checkpoints, prob=prob)
        parts.append(_p("Intermediate checkpoints are not fully trained models (their learning "
                        "rate has not decayed), so they tend to sit low in the band; judge the "
                        "trend and the final checkpoint.", "note"))  # fmt: skip
        parts.append(_table(watch, index=False))
        fig = plot_monitor(predictor, watch, prob=prob)
        report.figure(parts, fig, "Checkpoints against the predicted band at their compute")
        _close(fig)
    if backtest is not None:
        parts = report.section("calibration", "Backtest calibration")
        if hasattr(backtest, "overall"):
            parts.append(_table(backtest.overall()))
        fig = plot_calibration(backtest)
        report.figure(parts, fig, "Interval coverage and PIT histogram of the backtest")
        _close(fig)
    return report


def write_report(
    source: Any,
    out_dir: PathLike,
    *,
    actual: Ladder | None = None,
    title: str = "codbayes report",
    target_flops: float | Sequence[float] | None = None,
    thresholds: float | Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    prob: float = 0.9,
    checkpoints: PathLike | pd.DataFrame | None = None,
    backtest: Any = None,
    max_clusters: int = 12,
    filename: str = REPORT_FILE,
) -> Path:
    """Write a self-contained HTML report of a fit.

    Parameters
    ----------
    source : Predictor or path
        A fitted predictor or a saved fit (:func:`codbayes.store.save_fit`).
    out_dir : str or os.PathLike
        Folder to write ``filename`` into (created if missing; its parent must exist).
    actual : Ladder, optional
        Held-out target models with their actual scores: predicted at their compute, compared in
        a table and shown as stars on the fan charts.
    title : str, default "codbayes report"
        Page title.
    target_flops : float or sequence, optional
        Target computes (default: the ``actual`` models' compute, else 30 x the largest rung).
    thresholds : float, sequence or mapping, optional
        Score thresholds of the planning section (default: three round values per benchmark
        around the predicted median at the largest target).
    prob : float, default 0.9
        Band mass and planning probability.
    checkpoints : path or pandas.DataFrame, optional
        A run's checkpoint scores: adds a monitoring section (:func:`codbayes.decide.monitor`).
    backtest : BacktestResult, optional
        Adds a calibration section (:func:`codbayes.plots.plot_calibration`).
    max_clusters : int, default 12
        Largest clusters shown per benchmark.
    filename : str, default "index.html"
        Name of the report file.

    Returns
    -------
    pathlib.Path
        The written HTML file.

    Raises
    ------
    codbayes.errors.InputError
        The folder's parent does not exist, or a bad input (unknown benchmark, bad file).
    """
    folder = Path(out_dir)
    if not folder.parent.exists():
        raise InputError("parent folder does not exist", source=str(folder))
    if folder.exists() and not folder.is_dir():
        raise InputError("exists and is not a folder", source=str(folder))
    report = build_report(
        source,
        actual=actual,
        title=title,
        target_flops=target_flops,
        thresholds=thresholds,
        prob=prob,
        checkpoints=checkpoints,
        backtest=backtest,
        max_clusters=max_clusters,
    )
    text = report.to_html()
    folder.mkdir(exist_ok=True)
    target = folder / filename
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
