"""Point fits of the COD law per cluster, and the paper's filter into cluster classes.

The law is :func:`codbayes.laws.cod_law`,
``y(x) = g + (1 - g) exp(-a x^-b - c)`` with rescaled compute ``x = C / compute_unit`` (the smallest
ladder rung's FLOPs), so ``x`` runs from 1 upward and the fit is well conditioned.

Fitting (:func:`fit_laws`, :func:`fit_law`)
    Robust bounded least squares (:func:`scipy.optimize.least_squares`, ``trf``, ``soft_l1`` loss,
    analytic Jacobian) started from several points of a deterministic grid.  The grid is scored in
    one vectorised pass over all clusters: for every guess level ``g`` and exponent ``b`` of the
    grid, ``-log((y - g) / (1 - g)) = a x^-b + c`` is linear in ``(a, c)`` and solved in closed
    form; the ``n_starts`` best grid points (by the robust loss in accuracy space) start the
    non-linear fits and the best end point wins.  Everything is deterministic.

Guess level ``g``
    * known benchmark guess rate and ``pin_guess=True`` (default): ``g`` is pinned to it.  With 6-8
      rungs, four free parameters are poorly identified, and the guess rate is the chance level of
      every item, so pinning removes the worst degeneracy (a high ``g`` traded against ``c``);
    * otherwise ``g`` is free in ``[0, min(y)]``: the law never falls below ``g`` and accuracy
      grows with compute, so the lowest observed accuracy bounds the guess level from above.  When
      that bound is 0 (a cluster some rung fails completely) ``g`` is fixed at 0.

Classes (:func:`classify`, thresholds in :class:`FilterThresholds`), rules applied in this order:
    1. ``"non-extrapolatable"`` if the fit failed (any non-finite parameter or RMSE);
    2. ``"non-emergent"`` if ``a <= a_min`` or ``b <= b_min``: no growth over the ladder (with
       ``x = 1`` at the bottom rung, ``a <= 1`` means the bottom rung already reaches ``e^-1`` of
       the cluster's reducible range; ``b <= 0.1`` means the curve is nearly flat in compute);
    3. ``"non-extrapolatable"`` if ``c >= c_max`` (or ``c < 0``): a low ceiling / irregular curve;
    4. ``"non-extrapolatable"`` if the fit is unidentified (:func:`fit_clusters` only): the growth
       parameters ``a`` or ``b`` ended on their upper bound, or fewer than
       ``FilterThresholds.min_interior`` rungs (default 2) have an accuracy strictly between the
       guess level and 1.  Typically a cluster whose ladder curve is a step (0 on every rung below
       one, 1 above, as identical 0/1 answer patterns of greedy evaluations give), which the law
       can only follow with an arbitrarily steep curve.  This rule is ours, not the paper's:
       without it such clusters pass the paper's filter and their extrapolation is meaningless
       (on the real HumanEval ladders it turned 25-45 % scores into predictions of 86-100 %);
    5. ``"extrapolatable"`` otherwise, i.e. the paper's ``a > 1, b > 0.1, 0 <= c < 1``.

The generic multi-start driver :func:`robust_least_squares` is shared with the end-to-end baselines
(:mod:`codbayes.methods.e2e`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from tqdm.auto import trange

from codbayes.laws import LawParams, cod_law

PARAM_NAMES = ("g", "a", "b", "c")

#: default box for the law's parameters (rescaled compute)
DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {
    "g": (0.0, 0.99),
    "a": (0.0, 1e4),
    "b": (0.0, 4.0),
    "c": (0.0, 20.0),
}

#: exponents ``b`` of the initial grid
B_GRID = np.geomspace(0.02, 3.0, 18)
#: a growth parameter above this fraction of its upper bound counts as "on the bound"
BOUND_FRACTION = 0.999
#: guess levels of the initial grid, as fractions of the upper bound of ``g``
G_GRID_FRACTIONS = np.array([0.0, 0.5, 0.9])
#: accuracies are clipped to ``[EPS_Y, 1 - EPS_Y]`` inside logarithms of the initial grid
EPS_Y = 1e-4


@dataclass(frozen=True)
class FilterThresholds:
    """The paper's filter: a cluster is extrapolatable iff ``a > a_min, b > b_min, 0 <= c < c_max``.

    The thresholds refer to compute rescaled by the smallest ladder rung (see
    :mod:`codbayes.laws`).  ``min_interior`` (ours, not the paper's) is the fewest rungs whose
    cluster accuracy lies strictly between the guess level and 1 for the fit to count as
    identified (set 0 to switch the rule off).
    """

    a_min: float = 1.0
    b_min: float = 0.1
    c_max: float = 1.0
    min_interior: int = 2


# --------------------------------------------------------------------------- generic driver
def robust_least_squares(
    residuals: Callable[[np.ndarray], np.ndarray],
    starts: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    *,
    jac: Callable[[np.ndarray], np.ndarray] | str = "2-point",
    loss: str = "soft_l1",
    f_scale: float = 0.05,
    max_nfev: int | None = None,
) -> tuple[np.ndarray, float]:
    """Multi-start bounded robust least squares; the start with the lowest final cost wins.

    Parameters
    ----------
    residuals : callable
        ``theta -> residual vector``.
    starts : numpy.ndarray
        Initial values, shape ``(n_starts, n_params)``; clipped just inside ``bounds``.
    bounds : (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds, each of shape ``(n_params,)`` with ``lower < upper``.
    jac : callable or str, default "2-point"
        Jacobian of ``residuals`` (or a finite-difference scheme name).
    loss : str, default "soft_l1"
        Robust loss of :func:`scipy.optimize.least_squares`.
    f_scale : float, default 0.05
        Residual scale at which the robust loss starts to down-weight (accuracy units).
    max_nfev : int, optional
        Evaluation budget per start.

    Returns
    -------
    (numpy.ndarray, float)
        Best parameters and their robust cost (``nan`` parameters and ``inf`` cost if every
        start failed).
    """
    lo, hi = (np.asarray(v, dtype=float) for v in bounds)
    pad = 1e-9 * np.maximum(hi - lo, 1e-12)
    best, best_cost = np.full(lo.shape, np.nan), np.inf
    for start in np.atleast_2d(np.asarray(starts, dtype=float)):
        x0 = np.clip(start, lo + pad, hi - pad)
        try:
            res = least_squares(
                residuals,
                x0,
                jac=jac,
                bounds=(lo, hi),
                method="trf",
                loss=loss,
                f_scale=f_scale,
                max_nfev=max_nfev,
                x_scale="jac",
            )
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
            continue
        if np.isfinite(res.cost) and res.cost < best_cost - 1e-15:
            best, best_cost = res.x, float(res.cost)
    return best, best_cost


def robust_rho(z: np.ndarray, loss: str) -> np.ndarray:
    """Robust loss ``rho(z)`` of squared scaled residuals ``z`` (scipy's definitions)."""
    if loss == "linear":
        return z
    if loss == "soft_l1":
        return 2 * (np.sqrt(1 + z) - 1)
    if loss == "huber":
        return np.where(z <= 1, z, 2 * np.sqrt(z) - 1)
    if loss == "cauchy":
        return np.log1p(z)
    if loss == "arctan":
        return np.arctan(z)
    raise ValueError(f"unknown loss {loss!r}")


# --------------------------------------------------------------------------- the law
def _law_and_jac(
    x: np.ndarray, theta: np.ndarray, fixed: Mapping[str, float], free: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Law values at ``x`` and their Jacobian w.r.t. the free parameters."""
    p = dict(fixed)
    p.update(zip(free, theta, strict=True))
    g, a, b, c = (p[k] for k in PARAM_NAMES)
    u = x ** (-b)
    e = np.exp(-a * u - c)
    y = cod_law(x, g, a, b, c)
    cols = {
        "g": 1 - e,
        "a": -(1 - g) * e * u,
        "b": (1 - g) * e * a * u * np.log(x),
        "c": -(1 - g) * e,
    }
    return y, np.stack([cols[k] for k in free], axis=1)


def _grid_starts(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    g_upper: np.ndarray,
    g_fixed: np.ndarray,
    c_fixed: float | None,
    lo: Mapping[str, float],
    hi: Mapping[str, float],
    loss: str,
    f_scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Score the initial grid for every curve at once.

    Parameters
    ----------
    x : (n,) rescaled compute; y, w : (K, n) accuracies (NaN where missing) and weights (0 there).
    g_upper : (K,) upper bound of ``g`` (used when ``g_fixed`` is NaN); g_fixed : (K,) pinned g.
    c_fixed : pinned ``c`` or None.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Grid parameters ``(K, G, 4)`` as ``(g, a, b, c)`` and their robust loss ``(K, G)``.
    """
    k_curves = y.shape[0]
    fracs = G_GRID_FRACTIONS
    g_cand = np.where(
        np.isnan(g_fixed)[:, None], g_upper[:, None] * fracs[None, :], g_fixed[:, None]
    )  # (K, nG)
    n_g, n_b = g_cand.shape[1], B_GRID.size
    g = np.repeat(g_cand, n_b, axis=1)  # (K, G)
    b = np.tile(B_GRID, (k_curves, n_g))  # (K, G)
    yy = np.where(np.isnan(y), 0.5, y)[:, None, :]  # (K, 1, n)
    ww = w[:, None, :]
    frac = np.clip((yy - g[..., None]) / (1 - g[..., None]), EPS_Y, 1 - EPS_Y)
    z = -np.log(frac)  # (K, G, n) = a u + c
    u = x[None, None, :] ** (-b[..., None])
    sw = ww.sum(-1)
    su, sz = (ww * u).sum(-1), (ww * z).sum(-1)
    suu, suz = (ww * u * u).sum(-1), (ww * u * z).sum(-1)
    if c_fixed is None:
        det = sw * suu - su**2
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(det > 1e-12, (sw * suz - su * sz) / det, 1.0)
            c = np.where(det > 1e-12, (sz - a * su) / np.maximum(sw, 1e-12), 0.0)
            a_c0 = suz / np.maximum(suu, 1e-300)
        neg_c = c < lo["c"]
        a = np.where(neg_c, a_c0, a)
        c = np.clip(np.where(neg_c, lo["c"], c), lo["c"], hi["c"])
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            a = (suz - c_fixed * su) / np.maximum(suu, 1e-300)
        c = np.full_like(a, c_fixed)
    a = np.clip(np.nan_to_num(a, nan=1.0), max(lo["a"], 1e-6), hi["a"])
    b = np.clip(b, lo["b"], hi["b"])
    params = np.stack([g, a, b, c], axis=-1)
    pred = cod_law(x[None, None, :], g[..., None], a[..., None], b[..., None], c[..., None])
    resid2 = ww * (pred - yy) ** 2 / f_scale**2
    return params, robust_rho(resid2, loss).sum(-1)


def fit_laws(
    x: np.ndarray,
    y: np.ndarray,
    *,
    guess: float | None = None,
    pin_guess: bool = True,
    fixed: Mapping[str, float] | None = None,
    weights: np.ndarray | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    n_starts: int = 2,
    loss: str = "soft_l1",
    f_scale: float = 0.05,
    progress: bool = False,
) -> tuple[list[LawParams], np.ndarray]:
    """Fit the COD law to many curves that share the compute axis.

    Parameters
    ----------
    x : numpy.ndarray
        Rescaled compute ``C / compute_unit``, shape ``(n,)``, positive.
    y : numpy.ndarray
        Accuracies, shape ``(K, n)`` (or ``(n,)`` for one curve); NaN where missing.
    guess : float, optional
        Known guess rate.  Pinned as ``g`` when ``pin_guess`` (default); otherwise ignored (``g``
        free in ``[0, min(y)]``).
    pin_guess : bool, default True
        Pin ``g`` to ``guess`` when it is known.
    fixed : Mapping[str, float], optional
        Parameters to hold fixed (any of ``g, a, b, c``), e.g. ``{"g": 0, "c": 0}`` for the plain
        pass-rate law.  Overrides ``guess``.
    weights : numpy.ndarray, optional
        Non-negative weights per point (e.g. trials), same shape as ``y``; normalised to mean 1
        per curve.  Default: equal weights.
    bounds : Mapping[str, (float, float)], optional
        Parameter boxes; missing entries from :data:`DEFAULT_BOUNDS`.
    n_starts : int, default 2
        Number of best grid points used as starts of the non-linear fit.
    loss : str, default "soft_l1"
        Robust loss (see :func:`scipy.optimize.least_squares`).
    f_scale : float, default 0.05
        Residual scale of the robust loss, in accuracy units.
    progress : bool, default False
        Show a progress bar over the curves.

    Returns
    -------
    (list of LawParams, numpy.ndarray)
        One fit per curve and its unweighted RMSE over observed points (NaN parameters and RMSE
        for a curve with fewer than two observed points).
    """
    x = np.asarray(x, dtype=float)
    y = np.atleast_2d(np.asarray(y, dtype=float))
    if x.ndim != 1 or y.shape[1] != x.size:
        raise ValueError(f"x must be (n,) and y (K, n); got {x.shape} and {y.shape}")
    if np.any(~np.isfinite(x)) or np.any(x <= 0):
        raise ValueError("rescaled compute x must be positive and finite")
    box = {**DEFAULT_BOUNDS, **(bounds or {})}
    lo = {k: float(v[0]) for k, v in box.items()}
    hi = {k: float(v[1]) for k, v in box.items()}
    fixed = dict(fixed or {})
    if "g" not in fixed and guess is not None and pin_guess:
        fixed["g"] = float(guess)

    obs = np.isfinite(y)
    w = np.ones_like(y) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    w = np.where(obs & np.isfinite(w), np.clip(w, 0, None), 0.0)
    w = w / np.maximum(w.sum(1, keepdims=True), 1e-300) * np.maximum(obs.sum(1, keepdims=True), 1)

    k_curves = y.shape[0]
    y_min = np.nanmin(np.where(obs, y, np.inf), axis=1)
    g_upper = np.clip(np.where(np.isfinite(y_min), y_min, 0.0), lo["g"], hi["g"])
    if "g" in fixed:
        g_fixed = np.full(k_curves, fixed["g"])
    else:  # a zero-width box for g means g is fixed at its bound
        g_fixed = np.where(g_upper - lo["g"] <= 1e-6, lo["g"], np.nan)
    grid, score = _grid_starts(x, y, w, g_upper, g_fixed, fixed.get("c"), lo, hi, loss, f_scale)

    fits: list[LawParams] = []
    rmse = np.full(k_curves, np.nan)
    nan_fit = LawParams(np.nan, np.nan, np.nan, np.nan)
    for k in trange(k_curves, disable=not progress, desc="law fits", leave=False):
        m = obs[k]
        if m.sum() < 2:
            fits.append(nan_fit)
            continue
        fix_k = dict(fixed)
        if "g" not in fix_k and np.isfinite(g_fixed[k]):
            fix_k["g"] = float(g_fixed[k])
        free = [p for p in PARAM_NAMES if p not in fix_k]
        upper = {**hi, "g": float(g_upper[k])}
        lb = np.array([lo[p] for p in free])
        ub = np.array([upper[p] for p in free])
        xk, yk, sw = x[m], y[k, m], np.sqrt(w[k, m])

        def resid(theta: np.ndarray, xk=xk, yk=yk, sw=sw, fix_k=fix_k, free=free) -> np.ndarray:
            return sw * (_law_and_jac(xk, theta, fix_k, free)[0] - yk)

        def jac(theta: np.ndarray, xk=xk, sw=sw, fix_k=fix_k, free=free) -> np.ndarray:
            return sw[:, None] * _law_and_jac(xk, theta, fix_k, free)[1]

        order = np.argsort(score[k], kind="stable")[: max(n_starts, 1)]
        idx = [PARAM_NAMES.index(p) for p in free]
        starts = grid[k][order][:, idx]
        theta, _ = robust_least_squares(
            resid, starts, (lb, ub), jac=jac, loss=loss, f_scale=f_scale
        )
        values = dict(fix_k)
        values.update(zip(free, theta, strict=True))
        params = LawParams(*(float(values[p]) for p in PARAM_NAMES))
        fits.append(params)
        rmse[k] = float(np.sqrt(np.mean((params(xk) - yk) ** 2)))
    return fits, rmse


def fit_law(
    x: np.ndarray,
    y: np.ndarray,
    *,
    guess: float | None = None,
    weights: np.ndarray | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    n_starts: int = 2,
    loss: str = "soft_l1",
    **kwargs: Any,
) -> tuple[LawParams, float]:
    """Fit the COD law to one curve; see :func:`fit_laws` for the parameters.

    Returns
    -------
    (LawParams, float)
        The fit and its RMSE.

    Examples
    --------
    >>> x = np.array([1.0, 3, 10, 30, 100, 300])
    >>> params, rmse = fit_law(x, cod_law(x, 0.0, 3.0, 0.5, 0.2))
    >>> round(params.a, 2), round(params.b, 2), round(params.c, 2), rmse < 1e-6
    (3.0, 0.5, 0.2, True)
    """
    fits, rmse = fit_laws(
        x,
        np.asarray(y, dtype=float)[None, :],
        guess=guess,
        weights=None if weights is None else np.asarray(weights, dtype=float)[None, :],
        bounds=bounds,
        n_starts=n_starts,
        loss=loss,
        **kwargs,
    )
    return fits[0], float(rmse[0])


# --------------------------------------------------------------------------- classes
def classify(
    g: Any,
    a: Any,
    b: Any,
    c: Any,
    thresholds: FilterThresholds | None = None,
    at_bound: Any = False,
) -> np.ndarray:
    """Cluster class per fit (rules in the module docstring).

    Parameters
    ----------
    g, a, b, c : array_like
        Fitted parameters (broadcast together).
    thresholds : FilterThresholds, optional
        Defaults to the paper's ``a > 1, b > 0.1, 0 <= c < 1``.
    at_bound : array_like of bool, default False
        Fits whose growth parameters ended on their upper bound (unidentified).

    Returns
    -------
    numpy.ndarray
        Strings from :data:`codbayes.subset.CLUSTER_CLASSES`.

    Examples
    --------
    >>> classify([0, 0, 0], [3.0, 0.5, 3.0], [0.5, 0.5, 0.5], [0.1, 0.1, 2.0]).tolist()
    ['extrapolatable', 'non-emergent', 'non-extrapolatable']
    """
    t = thresholds or FilterThresholds()
    g, a, b, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (g, a, b, c)))
    at_bound = np.broadcast_to(np.asarray(at_bound, dtype=bool), g.shape)
    failed = ~(np.isfinite(g) & np.isfinite(a) & np.isfinite(b) & np.isfinite(c))
    with np.errstate(invalid="ignore"):
        flat = (a <= t.a_min) | (b <= t.b_min)
        ceiling = (c >= t.c_max) | (c < 0)
    return np.select(
        [failed, flat, ceiling, at_bound],
        ["non-extrapolatable", "non-emergent", "non-extrapolatable", "non-extrapolatable"],
        default="extrapolatable",
    ).astype(object)


def fit_clusters(
    x: np.ndarray,
    accuracy: np.ndarray,
    *,
    guess: float | None = None,
    weights: np.ndarray | None = None,
    thresholds: FilterThresholds | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Fit and classify every cluster curve.

    Parameters
    ----------
    x : numpy.ndarray
        Rescaled compute of the ladder rungs, shape ``(n,)``.
    accuracy : numpy.ndarray
        Cluster-mean accuracy per rung, shape ``(K, n)``.
    guess : float, optional
        Benchmark guess rate (pinned as ``g``, see :func:`fit_laws`).
    weights : numpy.ndarray, optional
        Weights per point (e.g. trials), shape ``(K, n)``.
    thresholds : FilterThresholds, optional
        Filter thresholds.
    **kwargs
        Passed to :func:`fit_laws`.

    Returns
    -------
    pandas.DataFrame
        One row per curve: ``g, a, b, c, rmse, n_interior, unidentified, cls,
        extrapolatable``.
    """
    fits, rmse = fit_laws(x, accuracy, guess=guess, weights=weights, **kwargs)
    frame = pd.DataFrame(
        [[f.g, f.a, f.b, f.c] for f in fits], columns=list(PARAM_NAMES), dtype=float
    )
    frame["rmse"] = rmse
    box = {**DEFAULT_BOUNDS, **(kwargs.get("bounds") or {})}
    on_bound = (frame["a"] >= BOUND_FRACTION * box["a"][1]) | (
        frame["b"] >= BOUND_FRACTION * box["b"][1]
    )
    acc = np.asarray(accuracy, dtype=float)
    g = frame["g"].to_numpy()[:, None]
    frame["n_interior"] = ((acc > g + 1e-9) & (acc < 1 - 1e-9)).sum(axis=1)
    min_interior = (thresholds or FilterThresholds()).min_interior
    frame["unidentified"] = on_bound.to_numpy() | (frame["n_interior"] < min_interior).to_numpy()
    frame["cls"] = classify(
        frame["g"], frame["a"], frame["b"], frame["c"], thresholds, frame["unidentified"]
    )
    frame["extrapolatable"] = (frame["cls"] == "extrapolatable").to_numpy(dtype=bool)
    return frame
