"""The shared predictor interface.

Every method (COD-Bayes, COD point, end-to-end baselines, FLP) follows scikit-learn's estimator
contract: parameters only in ``__init__`` (stored unchanged under the same names), ``fit(ladder)``
learns from the ladder's ``ladder`` (and ``anchor``) models and returns ``self``, learned attributes
end in ``_``, and ``predict(target_flops)`` returns a :class:`~codbayes.prediction.Prediction`.
Backtests and comparisons therefore treat all methods alike.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np

from codbayes.data.ladder import Ladder
from codbayes.prediction import Prediction


class NotFittedError(RuntimeError):
    """``predict`` was called before ``fit``."""


class Predictor(ABC):
    """Base class of every prediction method.

    Subclasses set the class attribute ``name`` (the ``--method`` value) and implement
    :meth:`fit` and :meth:`predict`.
    """

    name: ClassVar[str] = "predictor"

    @abstractmethod
    def fit(self, ladder: Ladder) -> Self:
        """Learn from ``ladder`` and return ``self``."""

    @abstractmethod
    def predict(self, target_flops: float | Sequence[float] | np.ndarray) -> Prediction:
        """Predict every benchmark's score at the target compute(s) (FLOPs)."""

    # ---------------------------------------------------------------- sklearn-style params
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters of this predictor."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters (does not refit)."""
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}")
            setattr(self, key, value)
        return self

    def _check_fitted(self) -> None:
        if not getattr(self, "ladder_", None):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(ladder) first")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def as_flops(target_flops: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """Target compute(s) as a 1-D float array of positive FLOPs."""
    flops = np.atleast_1d(np.asarray(target_flops, dtype=float))
    if flops.ndim != 1 or not np.all(np.isfinite(flops)) or np.any(flops <= 0):
        raise ValueError(f"target compute must be positive finite FLOPs, got {target_flops!r}")
    return flops
