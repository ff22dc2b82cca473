"""MCMC convergence diagnostics reported with every Bayesian prediction.

:func:`convergence_summary` reduces a posterior ``DataTree`` to the three numbers every
:class:`~codbayes.prediction.Prediction` carries (``max_rhat``, ``min_ess_bulk``, ``divergences``);
:func:`check_convergence` compares them with thresholds and emits a
:class:`~codbayes.errors.ConvergenceWarning` naming what failed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import arviz as az
import numpy as np
import xarray as xr

from codbayes.errors import ConvergenceWarning

#: default thresholds: R-hat above, bulk ESS below, divergences above -> warning
DEFAULT_THRESHOLDS: dict[str, float] = {"rhat_max": 1.01, "ess_min": 400.0, "max_divergences": 0}


def _max_finite(ds: xr.Dataset) -> float:
    values = [np.asarray(ds[v].values, dtype=float).ravel() for v in ds.data_vars]
    flat = np.concatenate(values) if values else np.array([])
    flat = flat[np.isfinite(flat)]
    return float(flat.max()) if flat.size else math.nan


def _min_finite(ds: xr.Dataset) -> float:
    values = [np.asarray(ds[v].values, dtype=float).ravel() for v in ds.data_vars]
    flat = np.concatenate(values) if values else np.array([])
    flat = flat[np.isfinite(flat)]
    return float(flat.min()) if flat.size else math.nan


def count_divergences(idata: Any) -> float:
    """Number of divergent transitions over all ``sample_stats*`` groups (NaN if none recorded)."""
    total, found = 0, False
    for name in ("sample_stats", "sample_stats_mapping"):
        if name in idata.children and "diverging" in idata[name].data_vars:
            total += int(np.asarray(idata[name]["diverging"].values).sum())
            found = True
    return float(total) if found else math.nan


def convergence_summary(idata: Any, var_names: Sequence[str] | None = None) -> dict[str, float]:
    """Worst R-hat, smallest bulk ESS and the number of divergences of a fit.

    Parameters
    ----------
    idata : xarray.DataTree
        Result of ``pm.sample`` (needs a ``posterior`` group; ``sample_stats`` if present).
    var_names : sequence of str, optional
        Variables to check (default: all posterior variables).  Pass the free random variables to
        leave out deterministics, which may be constant (R-hat undefined).

    Returns
    -------
    dict
        ``max_rhat``, ``min_ess_bulk``, ``divergences`` (NaN where undefined, e.g. one chain).
    """
    post = idata["posterior"].to_dataset()
    names = [v for v in (var_names or list(post.data_vars)) if v in post.data_vars]
    out = {"max_rhat": math.nan, "min_ess_bulk": math.nan}
    if names and post.sizes.get("draw", 0) >= 4:
        sub = post[names]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            if post.sizes.get("chain", 1) >= 2:
                out["max_rhat"] = _max_finite(az.rhat(sub))
            out["min_ess_bulk"] = _min_finite(az.ess(sub, method="bulk"))
    out["divergences"] = count_divergences(idata)
    return out


def convergence_problems(
    diagnostics: Mapping[str, float], thresholds: Mapping[str, float] | None = None
) -> list[str]:
    """Human-readable list of failed checks (empty when all pass or are undefined)."""
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    problems = []
    rhat, ess, div = (
        diagnostics.get(k, math.nan) for k in ("max_rhat", "min_ess_bulk", "divergences")
    )
    if math.isfinite(rhat) and rhat > t["rhat_max"]:
        problems.append(f"max R-hat {rhat:.3f} > {t['rhat_max']}")
    if math.isfinite(ess) and ess < t["ess_min"]:
        problems.append(f"min bulk ESS {ess:.0f} < {t['ess_min']:.0f}")
    if math.isfinite(div) and div > t["max_divergences"]:
        problems.append(f"{int(div)} divergent transitions")
    return problems


def check_convergence(
    diagnostics: Mapping[str, float],
    thresholds: Mapping[str, float] | None = None,
    *,
    stacklevel: int = 2,
) -> bool:
    """Warn with :class:`~codbayes.errors.ConvergenceWarning` if any check fails.

    Returns
    -------
    bool
        ``True`` if all checks pass.
    """
    problems = convergence_problems(diagnostics, thresholds)
    if problems:
        warnings.warn(
            "MCMC diagnostics are poor (" + "; ".join(problems) + "); treat the intervals with "
            "care (more tune/draws, target_accept closer to 1, or the other parameterization)",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )
    return not problems
