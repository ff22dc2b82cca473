"""End-to-end baselines: one curve through the full benchmark score of the ladder models.

All three fit the observed full-benchmark score of the **ladder** models (anchors are ignored)
against rescaled compute ``x = C / compute_unit`` (smallest rung's FLOPs) with the robust bounded
least squares of :mod:`codbayes.scaling`, and return one-draw predictions.

``e2e-exp`` (:class:`EndToEndExp`)
    The COD law on the whole benchmark, ``g + (1 - g) exp(-a x^-b - c)``, the paper's strongest
    baseline; ``g`` pinned to the guess rate when known, else free in ``[0, min score]``
    (:func:`codbayes.scaling.fit_law`).
``e2e-passrate`` (:class:`EndToEndPassRate`)
    The GPT-4 report's ``-log(score) = alpha x^-k``, i.e. the COD law with ``g = c = 0``
    (``alpha = a``, ``k = b``), fitted in score space by the same routine.
``e2e-sigmoid`` (:class:`EndToEndSigmoid`)
    ``score = lo + (hi - lo) sigmoid(k (log x - m))``; ``lo`` = guess rate if known, else free in
    ``[0, min score]``; ``hi`` in ``[max score, 1]``; ``k > 0``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import Self

import numpy as np
from scipy.special import expit

from codbayes.data.ladder import Ladder
from codbayes.laws import LawParams
from codbayes.methods.base import Predictor, as_flops
from codbayes.prediction import Prediction
from codbayes.scaling import fit_law, robust_least_squares, robust_rho

__all__ = ["EndToEndExp", "EndToEndPassRate", "EndToEndSigmoid", "fit_sigmoid", "sigmoid_curve"]


def sigmoid_curve(x: np.ndarray, lo: float, hi: float, k: float, m: float) -> np.ndarray:
    """``lo + (hi - lo) * sigmoid(k * (log x - m))`` at rescaled compute ``x``."""
    return lo + (hi - lo) * expit(k * (np.log(np.asarray(x, dtype=float)) - m))


def fit_sigmoid(
    x: np.ndarray,
    y: np.ndarray,
    *,
    lo: float | None = None,
    n_starts: int = 4,
    loss: str = "soft_l1",
    f_scale: float = 0.05,
) -> tuple[dict[str, float], float]:
    """Fit :func:`sigmoid_curve` by multi-start robust least squares.

    Parameters
    ----------
    x, y : numpy.ndarray
        Rescaled compute (> 0) and scores; NaN scores are ignored.
    lo : float, optional
        Pinned lower asymptote (the guess rate); free in ``[0, min(y)]`` when None.
    n_starts : int, default 4
        Best points of a deterministic ``(k, m, hi)`` grid used as starts.
    loss, f_scale
        Robust loss (see :func:`codbayes.scaling.robust_least_squares`).

    Returns
    -------
    (dict, float)
        Parameters ``lo, hi, k, m`` and the RMSE.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    logx = np.log(x)
    y_lo, y_hi = float(y.min()), float(y.max())
    lo_free = lo is None and y_lo > 1e-6
    lo_value = float(lo) if lo is not None else 0.0
    span = max(float(np.ptp(logx)), 1.0)
    bounds = {
        "lo": (0.0, max(y_lo, 1e-6)),
        "hi": (min(max(y_hi, lo_value + 1e-6), 1.0 - 1e-6), 1.0),
        "k": (1e-3, 50.0),
        "m": (float(logx.min()) - 10 * span, float(logx.max()) + 10 * span),
    }
    names = ["lo", "hi", "k", "m"] if lo_free else ["hi", "k", "m"]

    # deterministic grid, scored in one vectorised pass
    k_grid = np.array([0.2, 0.5, 1.0, 2.0, 5.0]) / span * 3
    m_grid = np.linspace(logx.min() - span, logx.max() + 2 * span, 9)
    hi_grid = np.unique(np.clip([y_hi, (y_hi + 1) / 2, 1.0], *bounds["hi"]))
    lo_grid = np.array([0.0, 0.5 * y_lo, 0.9 * y_lo]) if lo_free else np.array([lo_value])
    grid = np.stack(np.meshgrid(lo_grid, hi_grid, k_grid, m_grid, indexing="ij"), -1)
    grid = grid.reshape(-1, 4)
    pred = sigmoid_curve(x[None, :], *(grid[:, i, None] for i in range(4)))
    score = robust_rho((pred - y[None, :]) ** 2 / f_scale**2, loss).sum(1)
    starts = grid[np.argsort(score, kind="stable")[:n_starts]]
    if not lo_free:
        starts = starts[:, 1:]

    def full(theta: np.ndarray) -> tuple[float, float, float, float]:
        return (theta[0], *theta[1:]) if lo_free else (lo_value, *theta)

    def resid(theta: np.ndarray) -> np.ndarray:
        return sigmoid_curve(x, *full(theta)) - y

    lb = np.array([bounds[n][0] for n in names])
    ub = np.array([bounds[n][1] for n in names])
    theta, _ = robust_least_squares(resid, starts, (lb, ub), loss=loss, f_scale=f_scale)
    params = dict(zip(("lo", "hi", "k", "m"), map(float, full(theta)), strict=True))
    rmse = float(np.sqrt(np.mean((sigmoid_curve(x, **params) - y) ** 2)))
    return params, rmse


class _EndToEnd(Predictor):
    """Shared fit / predict of the end-to-end baselines.

    Attributes
    ----------
    ladder_ : Ladder
        The ladder it was fitted on.
    compute_unit_ : float
        FLOPs of the smallest ladder rung (``x = C / compute_unit_``).
    params_ : dict of str to dict
        Fitted curve parameters per benchmark.
    rmse_ : dict of str to float
        Fit RMSE per benchmark.
    """

    def __init__(self, progressbar: bool = False) -> None:
        self.progressbar = progressbar

    @abstractmethod
    def _fit_curve(
        self, x: np.ndarray, y: np.ndarray, guess: float | None
    ) -> tuple[dict[str, float], float]:
        """Fit one benchmark's curve; returns parameters and RMSE."""

    @abstractmethod
    def _curve(self, x: np.ndarray, params: dict[str, float]) -> np.ndarray:
        """Evaluate a fitted curve at rescaled compute ``x``."""

    def fit(self, ladder: Ladder) -> Self:
        """Fit one curve per benchmark on the ladder models' full scores; returns ``self``."""
        rungs = ladder.ladder_models
        unit = float(ladder.compute[rungs].min())
        scores = ladder.scores()
        params, rmse, n_items = {}, {}, {}
        for bench in ladder.benchmark_names:
            y = scores.loc[rungs, bench].to_numpy(dtype=float)
            x = ladder.compute[rungs].to_numpy(dtype=float) / unit
            params[bench], rmse[bench] = self._fit_curve(x, y, ladder.guess_rate(bench))
            n_items[bench] = ladder.benchmarks[bench].n_items
        self.compute_unit_, self.params_, self.rmse_ = unit, params, rmse
        self.n_items_ = n_items
        self.ladder_ = ladder
        return self

    def predict(self, target_flops: float | Sequence[float] | np.ndarray) -> Prediction:
        """One-draw prediction of every benchmark's score at ``target_flops``."""
        self._check_fitted()
        flops = as_flops(target_flops)
        x = flops / self.compute_unit_
        points = {b: np.clip(self._curve(x, p), 0.0, 1.0) for b, p in self.params_.items()}
        info = {
            b: {
                "n_items": n,
                "n_clusters": math.nan,
                "n_extrapolatable": math.nan,
                "subset_fraction": math.nan,
            }
            for b, n in self.n_items_.items()
        }
        return Prediction.from_points(self.name, flops, points, info=info)


class EndToEndExp(_EndToEnd):
    """COD law on the full benchmark score (``--method e2e-exp``).

    Parameters
    ----------
    progressbar : bool, default False
        Accepted for interface compatibility (fits are instantaneous).
    """

    name = "e2e-exp"

    def _fit_curve(self, x, y, guess):
        fit, rmse = fit_law(x, y, guess=guess)
        return {"g": fit.g, "a": fit.a, "b": fit.b, "c": fit.c}, rmse

    def _curve(self, x, params):
        return LawParams(**params)(x)


class EndToEndPassRate(_EndToEnd):
    """GPT-4 report's ``-log(score) = alpha x^-k`` (``--method e2e-passrate``).

    Parameters
    ----------
    progressbar : bool, default False
        Accepted for interface compatibility.
    """

    name = "e2e-passrate"

    def _fit_curve(self, x, y, guess):
        fit, rmse = fit_law(x, y, fixed={"g": 0.0, "c": 0.0})
        return {"alpha": fit.a, "k": fit.b}, rmse

    def _curve(self, x, params):
        return LawParams(0.0, params["alpha"], params["k"], 0.0)(x)


class EndToEndSigmoid(_EndToEnd):
    """Sigmoid in log-compute (``--method e2e-sigmoid``).

    Parameters
    ----------
    progressbar : bool, default False
        Accepted for interface compatibility.
    """

    name = "e2e-sigmoid"

    def _fit_curve(self, x, y, guess):
        return fit_sigmoid(x, y, lo=guess)

    def _curve(self, x, params):
        return sigmoid_curve(x, **params)
