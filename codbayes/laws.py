"""The COD performance scaling law, written once for numpy and pytensor.

.. math:: y(C) = g + (1 - g) \\exp(-a x^{-b} - c), \\qquad x = C / C_\\text{unit}

``g`` is the random-guess level, ``a`` and ``b`` the growth, ``c >= 0`` the ceiling
``g + (1 - g) e^{-c}``.  Compute is always rescaled, ``x = C / compute_unit``; codbayes uses the
smallest ladder rung's compute as the unit, so ``a`` is the reducible "loss" of the cluster at the
bottom of the ladder and the paper's filter ``a > 1`` reads "the bottom rung reaches at most
``e^{-1}`` of the cluster's ceiling", i.e. the cluster shows growth over the ladder.  The filter
thresholds depend on this unit; see ``docs/method.md``.

The same function serves the point fit, the PyMC model, the simulator's truth and the plots: it only
uses operators that numpy arrays and pytensor tensors share, plus a module-dependent ``exp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def cod_law(x: Any, g: Any, a: Any, b: Any, c: Any, *, exp: Any = np.exp) -> Any:
    """Expected accuracy of a set of items at rescaled compute ``x``.

    Parameters
    ----------
    x : array_like or TensorVariable
        Rescaled training compute ``C / compute_unit`` (> 0).
    g, a, b, c : array_like or TensorVariable
        Guess level in [0, 1), growth ``a > 0``, exponent ``b > 0``, ceiling offset ``c >= 0``.
        Broadcast against ``x``.
    exp : callable, default numpy.exp
        The exponential to use; pass ``pytensor.tensor.exp`` for symbolic use.

    Returns
    -------
    array_like or TensorVariable
        ``g + (1 - g) * exp(-a * x**(-b) - c)``, in ``[g, 1]``.

    Examples
    --------
    >>> round(float(cod_law(1.0, 0.0, 1.0, 0.5, 0.0)), 4)
    0.3679
    """
    return g + (1 - g) * exp(-a * x ** (-b) - c)


def inverse_cod_law(y: Any, g: Any, a: Any, b: Any, c: Any) -> np.ndarray:
    """Rescaled compute at which :func:`cod_law` reaches accuracy ``y`` (NaN if never reached)."""
    y, g, a, b, c = np.broadcast_arrays(*map(np.asarray, (y, g, a, b, c)))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (y - g) / (1 - g)
        reducible = -np.log(frac) - c  # = a x^-b
        x = (reducible / a) ** (-1.0 / b)
    return np.where((frac > 0) & (reducible > 0), x, np.nan)


@dataclass(frozen=True)
class LawParams:
    """Fitted parameters of one cluster's law (point estimate)."""

    g: float
    a: float
    b: float
    c: float

    def __call__(self, x: Any) -> np.ndarray:
        """Evaluate the law at rescaled compute ``x``."""
        return cod_law(np.asarray(x, dtype=float), self.g, self.a, self.b, self.c)

    @property
    def ceiling(self) -> float:
        """Accuracy reached at infinite compute, ``g + (1 - g) exp(-c)``."""
        return float(self.g + (1 - self.g) * np.exp(-self.c))
