"""Figures: right number of axes / artists on small synthetic inputs, and they save to PNG."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from test_evaluate import FakeBeta, FakePoint, make_ladder

from codbayes.evaluate import backtest, holdout_splits
from codbayes.laws import cod_law
from codbayes.plots import (
    coverage_curve,
    plot_calibration,
    plot_cluster_curves,
    plot_fan,
    plot_mapping,
)
from codbayes.prediction import Prediction
from codbayes.subset import ClusteredBenchmark


@pytest.fixture
def clustered():
    """Five clusters on 5 rungs + 1 anchor; clusters 0-2 extrapolatable."""
    rng = np.random.default_rng(0)
    params = np.array(
        [[0.0, 3.0, 0.4, 0.05], [0.0, 6.0, 0.3, 0.0], [0.25, 2.0, 0.5, 0.1],
         [0.0, 0.3, 0.05, 0.0], [0.0, 20.0, 0.2, 1.5]]
    )  # fmt: skip
    compute = np.r_[1e20 * 4.0 ** np.arange(5), 3e23]
    x = compute / 1e20
    acc = cod_law(x[None, :], *(params[:, [q]] for q in range(4)))
    acc = np.clip(acc + rng.normal(0, 0.01, acc.shape), 0, 1)
    sizes = np.array([40, 30, 20, 15, 12])
    trials = np.outer(sizes, np.ones(6))
    clusters = pd.DataFrame(params, columns=["g", "a", "b", "c"])
    clusters["size"] = sizes
    clusters["rmse"] = 0.01
    clusters["cls"] = ["extrapolatable"] * 3 + ["non-emergent", "non-extrapolatable"]
    clusters["extrapolatable"] = [True, True, True, False, False]
    subset = (acc[:3] * sizes[:3, None]).sum(0) / sizes[:3].sum()
    full = (acc * sizes[:, None]).sum(0) / (sizes.sum() + 10)
    labels = np.r_[np.repeat(np.arange(5), sizes), np.full(10, -2)]
    return ClusteredBenchmark(
        benchmark="toy", items=pd.Index([f"i{k}" for k in range(labels.size)]), labels=labels,
        models=[f"m{k}" for k in range(5)] + ["anchor"], compute=compute,
        is_ladder=np.r_[np.ones(5, bool), False], compute_unit=1e20, clusters=clusters,
        accuracy=acc, successes=acc * trials, trials=trials, subset_score=subset,
        full_score=full,
    )  # fmt: skip


def _save(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)
    assert path.stat().st_size > 2000


def test_cluster_curves_point_fits(clustered, tmp_path):
    fig = plot_cluster_curves(clustered, target_flops=1e24)
    assert isinstance(fig, Figure) and len(fig.axes) == 5
    ax0, ax3 = fig.axes[0], fig.axes[3]
    curve, ladder_pts, anchor_pts, target = ax0.lines
    assert len(ladder_pts.get_xdata()) == 5 and len(anchor_pts.get_xdata()) == 1
    assert target.get_xdata()[0] == 1e24
    # the curve is the law of cluster 0
    xs, ys = curve.get_data()
    assert ys == pytest.approx(cod_law(xs / 1e20, 0.0, 3.0, 0.4, 0.05))
    assert curve.get_linestyle() == "-" and ax3.lines[0].get_linestyle() == "--"
    assert "non-emergent" in ax3.get_title()
    _save(fig, tmp_path, "clusters")
    assert len(plot_cluster_curves(clustered, max_clusters=2).axes) == 2


def test_cluster_curves_with_posterior_draws(clustered, tmp_path):
    rng = np.random.default_rng(1)
    base = clustered.clusters[["g", "a", "b", "c"]].to_numpy()
    draws = {p: base[:, q] * np.exp(rng.normal(0, 0.05, (300, 5))) for q, p in enumerate("gabc")}
    draws["g"] = base[:, 0]  # fixed guess level: one value per cluster
    fig = plot_cluster_curves(clustered, draws, target_flops=3e24, ncols=3)
    assert len(fig.axes) == 5
    assert all(len(ax.collections) == 1 for ax in fig.axes)  # one band per cluster
    band = fig.axes[0].collections[0].get_paths()[0].vertices
    assert band[:, 1].min() >= 0 and band[:, 1].max() <= 1
    _save(fig, tmp_path, "clusters_bands")


def test_fan_from_predictions_and_actual(tmp_path):
    ladder = make_ladder(n_rungs=6)
    (split,) = holdout_splits(ladder, "largest")
    beta = FakeBeta().fit(split.train)
    grid = np.geomspace(1e21, 1e24, 12)
    fig = plot_fan(beta, "hard", grid, actual=split.test)
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    assert len(ax.collections) == 2  # 90 % and 50 % bands
    median, rungs, actual = ax.lines
    assert len(rungs.get_xdata()) == 5 and actual.get_ydata()[0] == pytest.approx(
        ladder.scores().loc["a5", "hard"]
    )
    assert np.all(np.diff(median.get_xdata()) > 0)
    _save(fig, tmp_path, "fan")
    # several methods on one axes; a point method draws no band
    point = FakePoint().fit(split.train)
    fig2 = plot_fan({"beta": beta.predict(grid), "point": point}, "hard", grid,
                    actual=(1e24, 0.5), ladder=split.train)  # fmt: skip
    ax2 = fig2.axes[0]
    assert len(ax2.collections) == 2 and len(ax2.lines) == 4


def test_mapping_point_and_draws(clustered, tmp_path):
    fig = plot_mapping(clustered, lambda s: s**1.3)
    ax = fig.axes[0]
    _identity, curve, ladder_pts, anchor_pts = ax.lines
    assert len(ladder_pts.get_xdata()) == 5 and len(anchor_pts.get_xdata()) == 1
    assert curve.get_ydata()[100] == pytest.approx(0.5**1.3)
    rng = np.random.default_rng(2)
    grid = np.linspace(0, 1, 51)
    draws = grid[None, :] ** rng.uniform(1.1, 1.5, (200, 1))
    fig2 = plot_mapping(clustered, draws, grid=grid, anchors={"other": (0.8, 0.7)},
                        target_subset=rng.normal(0.7, 0.02, 500))  # fmt: skip
    ax2 = fig2.axes[0]
    assert len(ax2.collections) == 1  # band
    assert len(ax2.lines[3].get_xdata()) == 2  # anchor from clustered + the extra one
    _save(fig2, tmp_path, "mapping")
    with pytest.raises(ValueError, match="grid"):
        plot_mapping(clustered, draws)


def test_calibration_plot(tmp_path):
    ladder = make_ladder(families=("a", "b", "c"), n_rungs=5, seed=3)
    result = backtest(ladder, {"beta": FakeBeta(concentration=50), "point": FakePoint()},
                      holdout="family")  # fmt: skip
    fig = plot_calibration(result)
    assert len(fig.axes) == 2
    ax_cov, ax_pit = fig.axes
    assert len(ax_cov.lines) == 3  # diagonal + one curve per method
    assert len(ax_pit.patches) == 2  # one step histogram per method
    cov = coverage_curve(result.records, np.array([0.5, 0.9]))
    assert (cov["point"] == 0).all()
    rec = result.records[result.records.method == "beta"]
    # PIT-based coverage agrees with the interval-based coverage on these cases
    assert cov.loc[0.9, "beta"] == pytest.approx(rec["covered90"].mean(), abs=1 / len(rec))
    _save(fig, tmp_path, "calibration")


def test_one_draw_prediction_fan(tmp_path):
    pred = Prediction.from_points("p", [1e22, 1e23], {"x": [0.2, 0.4]})
    fig = plot_fan(pred, "x")
    assert len(fig.axes[0].collections) == 0 and len(fig.axes[0].lines) == 1
