"""Prediction methods, one module each, behind one interface (:class:`Predictor`).

Use :func:`get_method` to build a method from its ``--method`` name.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from codbayes.methods.base import NotFittedError, Predictor

#: ``--method`` name -> "module:Class"
REGISTRY: dict[str, str] = {
    "cod-bayes": "codbayes.methods.cod_bayes:CODBayes",
    "cod-point": "codbayes.methods.cod_point:CODPoint",
    "e2e-exp": "codbayes.methods.e2e:EndToEndExp",
    "e2e-passrate": "codbayes.methods.e2e:EndToEndPassRate",
    "e2e-sigmoid": "codbayes.methods.e2e:EndToEndSigmoid",
    "flp": "codbayes.methods.flp:FLP",
    "flp-bayes": "codbayes.methods.flp:FLPBayes",
    "flp-m": "codbayes.methods.flp_m:FLPM",
}


def get_method(name: str, **params: Any) -> Predictor:
    """Build the predictor registered as ``name`` with constructor ``params``."""
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r}; choose from {sorted(REGISTRY)}")
    module, cls = REGISTRY[name].split(":")
    klass = getattr(import_module(module), cls)
    accepted = set(klass._param_names())
    return klass(**{k: v for k, v in params.items() if k in accepted})


__all__ = ["REGISTRY", "NotFittedError", "Predictor", "get_method"]
