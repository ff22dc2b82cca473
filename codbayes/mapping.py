"""Point subset-to-full mapping (COD step 5).

``f`` maps the score on the predictable subset to the full-benchmark score.  It must be continuous,
monotone increasing, with ``f(0) = 0`` and ``f(1) = 1``; it is fitted on the (subset, full) score
pairs of the ladder models and anchors plus these two end points.

Choice (the paper's v4 spline made monotone):

1. **Smoothing spline.**  A cubic smoothing spline
   (:class:`scipy.interpolate.UnivariateSpline`, ``k=3``) through the pairs and the two end points
   (weighted heavily), whose smoothing target ``s`` starts at ``n * tolerance**2`` and is halved
   until the RMSE on the model pairs is below ``tolerance`` (paper: 0.005).  The end points are
   then made exact by the affine correction ``(f(s) - f(0)) / (f(1) - f(0))``.
2. **Monotone check.**  The spline is accepted only if its derivative is non-negative on a fine
   grid over ``[0, 1]`` (which also covers the stretch between the largest observed subset score
   and ``(1, 1)``, where a free spline tends to overshoot).
3. **Monotone fallback.**  Otherwise (or with fewer than two model pairs) the mapping is the
   shape-preserving PCHIP interpolant (:class:`scipy.interpolate.PchipInterpolator`) through the
   isotonic regression of the pairs with the end points: monotone and exact at the end points by
   construction, as close to the data as any monotone curve through the pooled points.
4. **Identity** when there are no usable pairs at all.

Inputs outside ``[0, 1]`` are clipped, so extrapolation beyond the largest observed subset score
follows the curve to ``(1, 1)`` and stays monotone.  Pairs with a subset score of exactly 0 or 1
are dropped: the end points fix the mapping there.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from scipy.interpolate import PchipInterpolator, UnivariateSpline
from sklearn.isotonic import IsotonicRegression

#: weight of the two end points relative to a model pair
ENDPOINT_WEIGHT = 100.0
#: points of the grid the spline's derivative is checked on
CHECK_GRID = np.linspace(0.0, 1.0, 2001)


class SubsetMapping:
    """Monotone map from predictable-subset score to full-benchmark score.

    Parameters
    ----------
    tolerance : float, default 0.005
        Target RMSE of the smoothing spline on the model pairs (the smoothing is lowered until the
        RMSE is below it).
    max_halvings : int, default 40
        Most halvings of the smoothing target before interpolation (``s = 0``) is used.

    Attributes
    ----------
    kind_ : str
        ``"spline"``, ``"pchip"`` or ``"identity"``: the curve that was used.
    rmse_ : float
        RMSE of the mapping on the fitted model pairs (NaN without pairs).
    smoothing_ : float
        Final smoothing target of the spline (NaN unless ``kind_ == "spline"``).
    subset_, full_ : numpy.ndarray
        The model pairs used in the fit, sorted by subset score.

    Examples
    --------
    >>> m = SubsetMapping().fit([0.2, 0.4, 0.6], [0.1, 0.25, 0.45])
    >>> float(m(0.0)), float(m(1.0)), bool(m(0.5) > m(0.4))
    (0.0, 1.0, True)
    """

    def __init__(self, tolerance: float = 0.005, max_halvings: int = 40) -> None:
        self.tolerance = tolerance
        self.max_halvings = max_halvings

    # ------------------------------------------------------------------ fit
    def fit(self, subset: Any, full: Any) -> Self:
        """Fit the mapping on (subset, full) score pairs.

        Parameters
        ----------
        subset, full : array_like
            Scores of the same models on the predictable subset and the full benchmark, in
            ``[0, 1]``; pairs with a NaN are ignored.

        Returns
        -------
        SubsetMapping
            ``self``.
        """
        s = np.asarray(subset, dtype=float).ravel()
        f = np.asarray(full, dtype=float).ravel()
        if s.shape != f.shape:
            raise ValueError(f"subset and full must match, got {s.shape} and {f.shape}")
        ok = np.isfinite(s) & np.isfinite(f) & (s > 0) & (s < 1)
        s, f = s[ok], np.clip(f[ok], 0.0, 1.0)
        order = np.argsort(s, kind="stable")
        self.subset_, self.full_ = s[order], f[order]
        self.smoothing_ = np.nan
        self._scale = (0.0, 1.0)
        if s.size == 0:
            self.kind_, self._curve, self.rmse_ = "identity", None, np.nan
            return self
        # merge equal subset scores (the spline needs strictly increasing abscissae)
        xs, inverse, counts = np.unique(self.subset_, return_inverse=True, return_counts=True)
        ys = np.bincount(inverse, weights=self.full_) / counts
        x = np.concatenate([[0.0], xs, [1.0]])
        y = np.concatenate([[0.0], ys, [1.0]])
        w = np.concatenate([[ENDPOINT_WEIGHT], np.sqrt(counts), [ENDPOINT_WEIGHT]])

        spline = self._fit_spline(x, y, w) if xs.size >= 2 else None
        if spline is not None:
            self.kind_, self._curve = "spline", spline
        else:
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True)
            y_iso = iso.fit_transform(x, y, sample_weight=w**2)
            y_iso[0], y_iso[-1] = 0.0, 1.0
            self.kind_, self._curve = "pchip", PchipInterpolator(x, y_iso, extrapolate=True)
        self.rmse_ = float(np.sqrt(np.mean((self(self.subset_) - self.full_) ** 2)))
        return self

    def _fit_spline(self, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> UnivariateSpline | None:
        """Smoothing spline with RMSE below tolerance, or None if it is not monotone."""
        inner = slice(1, -1)
        target = x[inner].size * self.tolerance**2
        spline = None
        for _ in range(self.max_halvings + 1):
            try:
                spline = UnivariateSpline(x, y, w=w, k=3, s=target)
            except ValueError:  # pragma: no cover - defensive
                return None
            rmse = np.sqrt(np.mean((self._affine(spline, x[inner]) - y[inner]) ** 2))
            if rmse < self.tolerance:
                break
            target /= 2
        else:
            target = 0.0
            spline = UnivariateSpline(x, y, w=w, k=3, s=0.0)
        lo, hi = float(spline(0.0)), float(spline(1.0))
        if not hi > lo:
            return None
        if np.any(spline.derivative()(CHECK_GRID) < -1e-10):
            return None
        self.smoothing_ = float(target)
        self._scale = (lo, hi)
        return spline

    @staticmethod
    def _affine(spline: UnivariateSpline, s: np.ndarray) -> np.ndarray:
        lo, hi = float(spline(0.0)), float(spline(1.0))
        return (spline(s) - lo) / (hi - lo) if hi > lo else spline(s)

    # ------------------------------------------------------------------ use
    def __call__(self, s: Any) -> np.ndarray:
        """Full-benchmark score for subset score(s) ``s`` (clipped to ``[0, 1]``)."""
        if not hasattr(self, "kind_"):
            raise RuntimeError("SubsetMapping is not fitted; call fit(subset, full) first")
        s = np.clip(np.asarray(s, dtype=float), 0.0, 1.0)
        if self.kind_ == "identity":
            return s
        out = np.asarray(self._curve(s), dtype=float)
        if self.kind_ == "spline":
            lo, hi = self._scale
            out = (out - lo) / (hi - lo)
        return np.clip(out, 0.0, 1.0)

    def __repr__(self) -> str:
        kind = getattr(self, "kind_", "unfitted")
        return f"SubsetMapping(tolerance={self.tolerance!r}, kind={kind!r})"
