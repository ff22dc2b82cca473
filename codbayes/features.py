"""Difficulty features of the items of one benchmark (COD step 1).

Every item ``p`` is described by its pass rates on the ladder models, ordered by compute:
``x_p = [p_1(p), ..., p_S(p)]`` in ``[0, 1]^S`` (the target model is never used).  Items that
every ladder model fails on every attempt (all-zero rows) are set aside before clustering, and so
are items with a missing ladder cell (a model was not evaluated on them); both stay in the full
item set and are labelled by :func:`codbayes.cluster.cluster_features`.

Smoothing
---------
The paper cuts noise by averaging each model's pass rates over three adjacent training checkpoints.
A ladder here has one checkpoint per rung, so :func:`difficulty_features` offers two optional
substitutes that smooth *across rungs* instead (both keep all-zero rows at zero):

``"isotonic"``
    Per item, the sample-weighted least-squares fit that is non-decreasing in compute
    (:func:`scipy.optimize.isotonic_regression`).  It removes dips that more compute should not
    cause; it assumes items do not get harder for larger models.
``int k`` (odd)
    Centred moving average over ``k`` adjacent rungs, pooling samples (a window's pass rate is
    its correct samples over its samples); windows are truncated at the two ends of the ladder.

Give a tuple, e.g. ``("isotonic", 3)``, to apply several in order.  The default is no smoothing,
as the paper's features are raw pass rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d
from scipy.optimize import isotonic_regression

from codbayes.data.ladder import Ladder

__all__ = ["DifficultyFeatures", "Smoothing", "difficulty_features", "smooth_pass_rates"]

#: one smoothing step ("isotonic" or an odd window length), or several applied in order
Smoothing = str | int | Sequence[str | int] | None


@dataclass(frozen=True, eq=False)
class DifficultyFeatures:
    """Difficulty feature matrix of one benchmark.

    Attributes
    ----------
    benchmark : str
        Benchmark name.
    items : pandas.Index
        All items of the benchmark, in the ladder's order.
    models : list of str
        Ladder models (the feature columns), by ascending compute.
    X : numpy.ndarray
        Pass rates (smoothed if asked) of the kept items, shape ``(kept.sum(), len(models))``,
        rows in the order of ``items[kept]``.
    kept : numpy.ndarray
        Boolean mask over ``items``: items that are clustered (not all-zero, no missing cell).
    all_zero : numpy.ndarray
        Boolean mask over ``items``: every ladder model was evaluated and failed every attempt.
    missing : numpy.ndarray
        Boolean mask over ``items``: some ladder cell is missing (NaN).  Such items are excluded
        from clustering.  ``kept``, ``all_zero`` and ``missing`` partition the items.
    """

    benchmark: str
    items: pd.Index
    models: list[str]
    X: np.ndarray
    kept: np.ndarray
    all_zero: np.ndarray
    missing: np.ndarray

    @property
    def n_items(self) -> int:
        """Number of items in the benchmark."""
        return len(self.items)

    @property
    def kept_items(self) -> pd.Index:
        """The items that are clustered (rows of ``X``)."""
        return self.items[self.kept]


def _isotonic(rates: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Per-row non-decreasing least-squares fit, weighted by samples."""
    weights = np.maximum(samples, 1e-12)  # scipy needs positive weights
    out = np.empty_like(rates)
    for i, (row, w) in enumerate(zip(rates, weights, strict=True)):
        out[i] = isotonic_regression(row, weights=w).x
    return out


def _moving_average(rates: np.ndarray, samples: np.ndarray, window: int) -> np.ndarray:
    """Centred, sample-pooled moving average over ``window`` adjacent columns."""
    correct = uniform_filter1d(rates * samples, window, axis=1, mode="constant")
    trials = uniform_filter1d(samples.astype(float), window, axis=1, mode="constant")
    return np.divide(correct, trials, out=rates.copy(), where=trials > 0)


def smooth_pass_rates(
    rates: np.ndarray, samples: np.ndarray, smoothing: Smoothing = None
) -> np.ndarray:
    """Smooth pass rates across rungs (columns); see the module docstring.

    Parameters
    ----------
    rates : numpy.ndarray
        Pass rates, items x rungs by compute, no NaN.
    samples : numpy.ndarray
        Samples behind each rate, same shape (weights of the fits).
    smoothing : {None, "isotonic"} or int or sequence of them
        ``"isotonic"``: monotone non-decreasing fit per item; odd int ``k``: moving average over
        ``k`` adjacent rungs; a sequence applies its steps in order.

    Returns
    -------
    numpy.ndarray
        Smoothed rates in ``[0, 1]``, same shape.
    """
    rates = np.asarray(rates, dtype=float)
    samples = np.asarray(samples, dtype=float)
    if smoothing is None:
        return rates.copy()
    steps = [smoothing] if isinstance(smoothing, str | int | np.integer) else list(smoothing)
    out = rates.copy()
    for step in steps:
        if step == "isotonic":
            out = _isotonic(out, samples)
        elif isinstance(step, int | np.integer) and not isinstance(step, bool):
            if step < 1 or step % 2 == 0:
                raise ValueError(f"moving-average window must be a positive odd int, got {step}")
            out = _moving_average(out, samples, int(step))
        else:
            raise ValueError(f"unknown smoothing {step!r}; use None, 'isotonic' or an odd int")
    return np.clip(out, 0.0, 1.0)


def difficulty_features(
    ladder: Ladder, benchmark: str, *, smoothing: Smoothing = None
) -> DifficultyFeatures:
    """Pass-rate difficulty features of ``benchmark`` on the ladder models.

    Parameters
    ----------
    ladder : Ladder
        The evaluations; only models with role ``ladder`` are used.
    benchmark : str
        Benchmark name.
    smoothing : {None, "isotonic"} or int or sequence of them, optional
        Smoothing across rungs (see :func:`smooth_pass_rates`); default none.  All-zero and
        missing items are decided on the raw pass rates.

    Returns
    -------
    DifficultyFeatures
    """
    rates = ladder.pass_rates(benchmark)
    samples = ladder.samples(benchmark).reindex_like(rates).fillna(0)
    values = rates.to_numpy(dtype=float)
    missing = np.isnan(values).any(axis=1)
    all_zero = ~missing & (values == 0).all(axis=1)
    kept = ~missing & ~all_zero
    X = smooth_pass_rates(values[kept], samples.to_numpy(dtype=float)[kept], smoothing)
    return DifficultyFeatures(
        benchmark=benchmark,
        items=rates.index,
        models=list(rates.columns),
        X=X,
        kept=kept,
        all_zero=all_zero,
        missing=missing,
    )
