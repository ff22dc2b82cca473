"""Per-cluster law fits and the cluster classes."""

from __future__ import annotations

import time

import numpy as np
import pytest

from codbayes.laws import cod_law
from codbayes.scaling import (
    FilterThresholds,
    classify,
    fit_clusters,
    fit_law,
    fit_laws,
    robust_least_squares,
)

X = np.geomspace(1.0, 3500.0, 8)  # the paper's ladder: 4e19 .. 1.4e23 FLOPs, rescaled


@pytest.mark.parametrize(
    ("g", "a", "b", "c"),
    [(0.0, 3.0, 0.5, 0.2), (0.0, 8.0, 0.4, 0.05), (0.25, 5.0, 0.45, 0.1), (0.1, 2.5, 0.3, 0.5)],
)
def test_recovers_parameters_and_extrapolates(g, a, b, c):
    rng = np.random.default_rng(1)
    y = cod_law(X, g, a, b, c) + rng.normal(0, 0.003, X.size)
    fit, rmse = fit_law(X, y, guess=g)
    assert fit.g == g  # pinned
    assert fit.a == pytest.approx(a, rel=0.15)
    assert fit.b == pytest.approx(b, abs=0.05)
    assert fit.c == pytest.approx(c, abs=0.06)
    assert rmse < 0.006
    # the point of the fit: a 27x extrapolation stays within a point
    target = 27 * X[-1]
    assert abs(fit(target) - cod_law(target, g, a, b, c)) < 0.01


def test_exact_curve_free_guess():
    y = cod_law(X, 0.2, 4.0, 0.5, 0.1)
    fit, rmse = fit_law(X, y)
    assert rmse < 1e-6
    assert (fit.g, fit.a, fit.b, fit.c) == pytest.approx((0.2, 4.0, 0.5, 0.1), abs=1e-4)


def test_free_guess_bounded_by_lowest_accuracy():
    y = cod_law(X, 0.3, 0.5, 0.5, 0.0)  # already high at the bottom rung
    fit, _ = fit_law(X, y)
    assert 0 <= fit.g <= y.min() + 1e-12


def test_zero_bottom_rung_fixes_guess_at_zero():
    y = np.array([0.0, 0.01, 0.05, 0.12, 0.2, 0.3, 0.38, 0.45])
    fit, rmse = fit_law(X, y)
    assert fit.g == 0.0
    assert rmse < 0.02


def test_fixed_parameters_pass_rate_form():
    y = cod_law(X, 0.0, 6.0, 0.35, 0.0)
    fit, rmse = fit_law(X, y, fixed={"g": 0.0, "c": 0.0})
    assert (fit.g, fit.c) == (0.0, 0.0)
    assert (fit.a, fit.b) == pytest.approx((6.0, 0.35), rel=1e-4)
    assert rmse < 1e-8


def test_missing_points_and_too_few_points():
    y = cod_law(X, 0.0, 3.0, 0.5, 0.2)
    y_missing = y.copy()
    y_missing[[1, 4]] = np.nan
    fits, rmse = fit_laws(X, np.vstack([y_missing, np.full(X.size, np.nan)]))
    assert fits[0].a == pytest.approx(3.0, rel=1e-3)
    assert np.isnan(fits[1].a) and np.isnan(rmse[1])


def test_weights_downweight_outlying_point():
    y = cod_law(X, 0.0, 3.0, 0.5, 0.2)
    y_bad = y.copy()
    y_bad[3] += 0.15
    w = np.ones(X.size)
    w[3] = 1e-6
    fit, _ = fit_law(X, y_bad, guess=0.0, weights=w)
    assert fit.a == pytest.approx(3.0, rel=1e-3)


def test_robust_loss_resists_one_outlier():
    y = cod_law(X, 0.0, 3.0, 0.5, 0.2)
    y[5] -= 0.2
    robust, _ = fit_law(X, y, guess=0.0, loss="soft_l1", f_scale=0.01)
    plain, _ = fit_law(X, y, guess=0.0, loss="linear")
    truth = cod_law(1e5, 0.0, 3.0, 0.5, 0.2)
    assert abs(robust(1e5) - truth) < abs(plain(1e5) - truth)


def test_bad_input():
    with pytest.raises(ValueError, match="positive"):
        fit_laws(np.array([0.0, 1.0, 2.0]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="must be"):
        fit_laws(X, np.zeros((2, 3)))


def test_robust_least_squares_picks_best_start():
    def resid(t):  # two minima: t = -2 (cost 1) and t = 2 (cost 0)
        return np.array([(t[0] ** 2 - 4), 1.0 * (t[0] < 0)])

    best, cost = robust_least_squares(
        resid, np.array([[-3.0], [3.0]]), (np.array([-5.0]), np.array([5.0])), loss="linear"
    )
    assert best[0] == pytest.approx(2.0, abs=1e-6)
    assert cost == pytest.approx(0.0, abs=1e-10)


# ------------------------------------------------------------------------------ classes
def test_classify_rules_and_order():
    cls = classify(
        g=[0, 0, 0, 0, 0, 0, np.nan],
        a=[3.0, 1.0, 3.0, 0.5, 3.0, 3.0, 3.0],
        b=[0.5, 0.5, 0.1, 0.5, 0.5, 0.5, 0.5],
        c=[0.0, 0.2, 0.2, 2.0, 1.0, 0.999, 0.1],
    )
    assert cls.tolist() == [
        "extrapolatable",
        "non-emergent",  # a == a_min is not > a_min
        "non-emergent",  # b == b_min
        "non-emergent",  # growth fails first, even with a low ceiling
        "non-extrapolatable",  # c == c_max
        "extrapolatable",
        "non-extrapolatable",  # failed fit
    ]


def test_thresholds_are_configurable():
    loose = FilterThresholds(a_min=0.2, b_min=0.05, c_max=3.0)
    assert classify(0, 0.5, 0.08, 2.0, loose).item() == "extrapolatable"
    assert classify(0, 0.5, 0.08, 2.0).item() == "non-emergent"


def test_fit_clusters_classifies_generated_curves():
    rng = np.random.default_rng(3)
    truth = [
        ((0.0, 4.0, 0.5, 0.1), "extrapolatable"),
        ((0.0, 0.3, 0.5, 0.05), "non-emergent"),  # saturated at the bottom rung
        ((0.0, 4.0, 0.5, 2.0), "non-extrapolatable"),  # ceiling e^-2
    ]
    y = np.vstack([cod_law(X, *p) + rng.normal(0, 0.003, X.size) for p, _ in truth])
    frame = fit_clusters(X, y, guess=0.0)
    assert frame["cls"].tolist() == [cls for _, cls in truth]
    assert frame["extrapolatable"].tolist() == [True, False, False]
    assert list(frame.columns) == [
        "g",
        "a",
        "b",
        "c",
        "rmse",
        "n_interior",
        "unidentified",
        "cls",
        "extrapolatable",
    ]


def test_step_curves_are_unidentified_not_extrapolatable():
    """Identical 0/1 answer patterns give step curves: the paper's filter alone would keep them."""
    steps = np.array([[0, 0, 0, 0, 0, 1.0], [0, 0, 1, 1, 1, 1.0], [0, 0, 0.1, 0.3, 0.6, 0.8]])
    x = np.geomspace(1, 200, 6)
    frame = fit_clusters(x, steps, guess=0.0)
    assert frame["n_interior"].tolist() == [0, 0, 4]
    assert frame["unidentified"].tolist() == [True, True, False]
    assert frame["extrapolatable"].tolist() == [False, False, True]
    off = fit_clusters(x, steps, guess=0.0, thresholds=FilterThresholds(min_interior=0))
    assert off.loc[0, "n_interior"] == 0 and not off.loc[2, "unidentified"]


def test_many_clusters_are_fast_and_accurate():
    rng = np.random.default_rng(0)
    k = 250
    g, a = rng.uniform(0, 0.3, k), rng.uniform(1.5, 20, k)
    b, c = rng.uniform(0.2, 0.9, k), rng.uniform(0, 0.8, k)
    y = cod_law(X[None], g[:, None], a[:, None], b[:, None], c[:, None])
    y = y + rng.normal(0, 0.005, y.shape)
    start = time.perf_counter()
    frame = fit_clusters(X, y)
    elapsed = time.perf_counter() - start
    assert elapsed < 20  # ~3 s alone; generous for a shared machine
    assert frame["rmse"].median() < 0.006
    truth = cod_law(1e5, g, a, b, c)
    err = np.abs(cod_law(1e5, *(frame[p].to_numpy() for p in "gabc")) - truth)
    assert np.median(err) < 0.01


def test_deterministic():
    rng = np.random.default_rng(5)
    y = np.clip(cod_law(X, 0.1, 3, 0.4, 0.3) + rng.normal(0, 0.02, X.size), 0, 1)
    assert fit_law(X, y) == fit_law(X, y)
