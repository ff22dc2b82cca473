"""Compare Bayesian model variants by PSIS-LOO (ArviZ) on the same observations.

A *variant* is a set of constructor arguments of a Bayesian method (by default COD-Bayes): for
example pooled versus unpooled cluster parameters, with or without rung-to-rung noise, or another
mapping form.  :func:`compare_variants` fits each variant on the same ladder, computes the
pointwise log-likelihood explicitly (PyMC 6 no longer stores it) and ranks the variants with
:func:`arviz.compare` (expected log pointwise predictive density, stacking weights).

LOO values are only comparable when every variant scores the **same observations**.  The comparison
therefore uses one observed variable, by default the method's class attribute ``loo_var`` (for
COD-Bayes: the binomial likelihood of the per-cluster correct-sample counts of the ladder models,
i.e. the scaling-law likelihood; mapping-curve observations are not part of it), and checks that its
observed data are identical across variants.  Variants that change the data themselves (another
clustering, other items) cannot be compared this way; use :func:`codbayes.evaluate.backtest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from codbayes.data.ladder import Ladder

#: name of COD-Bayes's scaling-law likelihood (the beta-binomial cluster counts in
#: :mod:`codbayes.model`); the fallback comparison variable when several observed variables exist
LAW_LIKELIHOOD = "y"


def _method_class(method: str | type) -> type:
    if isinstance(method, type):
        return method
    from codbayes.methods import REGISTRY

    if method not in REGISTRY:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(REGISTRY)}")
    module, cls = REGISTRY[method].split(":")
    return getattr(import_module(module), cls)


def _constructor_kwargs(klass: type, params: Mapping[str, Any], variant: str) -> dict[str, Any]:
    """Split variant parameters into constructor arguments and ``model_config`` overrides."""
    accepted = set(klass._param_names()) if hasattr(klass, "_param_names") else set()
    kwargs = {k: v for k, v in params.items() if k in accepted}
    extra = {k: v for k, v in params.items() if k not in accepted}
    if extra:
        if "model_config" not in accepted:
            raise ValueError(
                f"variant {variant!r}: {klass.__name__} takes no parameter(s) {sorted(extra)}"
            )
        kwargs["model_config"] = {**dict(kwargs.get("model_config") or {}), **extra}
    return kwargs


def fit_variants(
    ladder: Ladder,
    variants: Mapping[str, Mapping[str, Any]],
    *,
    method: str | type = "cod-bayes",
    **fit_kwargs: Any,
) -> dict[str, Any]:
    """Fit one estimator per variant on ``ladder``.

    Parameters
    ----------
    ladder : Ladder
        The ladder every variant is fitted on.
    variants : mapping of str to dict
        Variant name -> constructor arguments.  Keys the class does not take are treated as
        ``model_config`` overrides (merged over ``model_config`` given in the variant or in
        ``fit_kwargs``); a typo therefore raises rather than silently fitting the default model.
    method : str or type, default "cod-bayes"
        Registered method name or estimator class.
    **fit_kwargs
        Constructor arguments shared by every variant (e.g. ``draws``, ``chains``, ``seed`` or a
        ``sampler_config``); a variant's own arguments take precedence.

    Returns
    -------
    dict
        Variant name -> fitted estimator (with ``idata_`` and ``model_``).
    """
    klass = _method_class(method)
    fits = {}
    for name, params in variants.items():
        merged = {**fit_kwargs, **dict(params)}
        if "model_config" in fit_kwargs and "model_config" in params:
            merged["model_config"] = {**fit_kwargs["model_config"], **params["model_config"]}
        fits[name] = klass(**_constructor_kwargs(klass, merged, name)).fit(ladder)
    return fits


def _idata_and_model(fit: Any) -> tuple[Any, Any]:
    if isinstance(fit, tuple):
        model, idata = fit
        return idata, model
    if isinstance(fit, xr.DataTree):
        return fit, None
    if not hasattr(fit, "idata_"):
        raise TypeError(f"expected a fitted Bayesian estimator with idata_, got {type(fit)!r}")
    return fit.idata_, getattr(fit, "model_", None)


def _observed_vars(idata: xr.DataTree, model: Any) -> list[str]:
    if model is not None:
        return [rv.name for rv in model.observed_RVs]
    if "observed_data" in idata.children:
        return list(idata["observed_data"].data_vars)
    return list(idata["log_likelihood"].data_vars) if "log_likelihood" in idata.children else []


def loo_tree(idata: xr.DataTree, model: Any, var_name: str) -> xr.DataTree:
    """A DataTree with ``posterior``, ``log_likelihood`` (of ``var_name`` only) and, if present,
    ``observed_data``, for :func:`arviz.loo` / :func:`arviz.compare`.

    The log-likelihood is taken from ``idata`` when it already has it, otherwise computed with
    :func:`pymc.compute_log_likelihood` on ``model`` (``idata`` itself is not modified).
    """
    if "log_likelihood" in idata.children and var_name in idata["log_likelihood"].data_vars:
        loglik = idata["log_likelihood"].to_dataset()[[var_name]]
    else:
        if model is None:
            raise ValueError(
                f"no log-likelihood of {var_name!r} stored and no PyMC model to compute it"
            )
        import pymc as pm

        loglik = pm.compute_log_likelihood(
            idata, var_names=[var_name], model=model, extend_inferencedata=False, progressbar=False
        )
        loglik = loglik.to_dataset() if isinstance(loglik, xr.DataTree) else loglik
    groups = {"posterior": idata["posterior"].to_dataset(), "log_likelihood": loglik}
    if "observed_data" in idata.children and var_name in idata["observed_data"].data_vars:
        groups["observed_data"] = idata["observed_data"].to_dataset()[[var_name]]
    return xr.DataTree.from_dict(groups)


def _default_var(fits: Mapping[str, Any], trees: Mapping[str, tuple[Any, Any]]) -> str:
    named = {getattr(type(f), "loo_var", None) for f in fits.values()} - {None}
    if len(named) == 1:
        return named.pop()
    common = None
    for idata, model in trees.values():
        names = _observed_vars(idata, model)
        common = names if common is None else [n for n in common if n in names]
    if common and len(common) == 1:
        return common[0]
    if common and LAW_LIKELIHOOD in common:
        return LAW_LIKELIHOOD
    raise ValueError(
        f"cannot choose the observed variable to compare on (common: {common}); pass var_name"
    )


def _check_same_observations(trees: Mapping[str, xr.DataTree], var_name: str) -> None:
    ref_name, ref = None, None
    for name, tree in trees.items():
        shape = tree["log_likelihood"][var_name].shape[2:]
        obs = (
            np.asarray(tree["observed_data"][var_name])
            if "observed_data" in tree.children
            else None
        )
        if ref is None:
            ref_name, ref = name, (shape, obs)
            continue
        ref_obs = ref[1]
        same_obs = (
            obs is None
            or ref_obs is None
            or (obs.shape == ref_obs.shape and np.allclose(obs, ref_obs))
        )
        same = shape == ref[0] and same_obs
        if not same:
            raise ValueError(
                f"variants {ref_name!r} and {name!r} have different observations of {var_name!r} "
                f"(shapes {ref[0]} and {shape}); LOO is only comparable on the same data"
            )


def compare_fitted(
    fits: Mapping[str, Any],
    *,
    var_name: str | None = None,
    method: str = "stacking",
) -> pd.DataFrame:
    """Rank fitted Bayesian models by PSIS-LOO on one observed variable.

    Parameters
    ----------
    fits : mapping of str to fitted estimator, ``(model, idata)`` tuple or DataTree
        Estimators need ``idata_`` (an ``xarray.DataTree`` with a posterior) and ``model_``
        (the PyMC model); a bare DataTree must already hold the log-likelihood.
    var_name : str, optional
        Observed variable to compare on; default the estimators' ``loo_var`` class attribute, else
        the only observed variable all variants share, else :data:`LAW_LIKELIHOOD` if shared.
    method : str, default "stacking"
        Weighting method of :func:`arviz.compare`.

    Returns
    -------
    pandas.DataFrame
        :func:`arviz.compare`'s table (index variant name; ``rank``, ``elpd``, ``p``,
        ``elpd_diff``, ``dse``, ``weight``, ``se``, ...), sorted best first, with
        ``attrs["var_name"]`` set.

    Raises
    ------
    ValueError
        If the variants observe different data of ``var_name``.
    """
    import arviz as az

    if len(fits) < 2:
        raise ValueError("need at least two variants to compare")
    pairs = {name: _idata_and_model(fit) for name, fit in fits.items()}
    var = var_name or _default_var(fits, pairs)
    trees = {name: loo_tree(idata, model, var) for name, (idata, model) in pairs.items()}
    _check_same_observations(trees, var)
    table = az.compare(trees, method=method, var_name=var, round_to="none")
    table.attrs["var_name"] = var
    return table


def compare_variants(
    ladder: Ladder,
    variants: Mapping[str, Mapping[str, Any]],
    *,
    method: str | type = "cod-bayes",
    var_name: str | None = None,
    weights: str = "stacking",
    **fit_kwargs: Any,
) -> pd.DataFrame:
    """Fit every variant of a Bayesian method on ``ladder`` and rank them by PSIS-LOO.

    Parameters
    ----------
    ladder : Ladder
        The ladder every variant is fitted on.
    variants : mapping of str to dict
        Variant name -> constructor arguments / ``model_config`` overrides, see
        :func:`fit_variants`.  Example: ``{"pooled": {"pooled": True}, "unpooled": {"pooled":
        False}}``.
    method : str or type, default "cod-bayes"
        Registered method name or estimator class.
    var_name : str, optional
        Observed variable whose pointwise log-likelihood is compared (default: the class's
        ``loo_var``, for COD-Bayes the scaling-law likelihood of the ladder's cluster counts).
    weights : str, default "stacking"
        Model weights of :func:`arviz.compare`.
    **fit_kwargs
        Constructor arguments shared by every variant (sampler settings, seed).

    Returns
    -------
    pandas.DataFrame
        See :func:`compare_fitted`.
    """
    fits = fit_variants(ladder, variants, method=method, **fit_kwargs)
    return compare_fitted(fits, var_name=var_name, method=weights)
