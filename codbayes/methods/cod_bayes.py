"""COD made Bayesian (``--method cod-bayes``): one hierarchical PyMC model for all benchmarks.

The deterministic part of COD (features, clustering, point fits and the paper's filter) is reused
from :func:`codbayes.methods.cod_point.analyse_benchmark`; the per-cluster laws and the
subset-to-full mapping become one hierarchical model (:mod:`codbayes.model`), sampled with NUTS.
Predictions are posterior predictive draws computed in numpy from the stored posterior, so any
number of targets costs no recompilation.

The API follows scikit-learn (parameters only in ``__init__``, learned attributes end in ``_``)
and pymc-marketing's ``ModelBuilder`` (``model_config`` / ``sampler_config`` dictionaries merged
over :meth:`CODBayes.default_model_config` / :meth:`CODBayes.default_sampler_config`, ``idata_``
with a ``fit_data`` group, ``save`` / ``load``).

Predictable subset (``subset``):

* ``"threshold"`` (default): the paper's thresholds on the point fits (``extrapolatable``); only
  those clusters enter the model, laws and mapping are fitted jointly.
* ``"posterior"``: two stages.  (1) The laws of *all* clusters are fitted (the hierarchy learns
  from every cluster).  (2) A cluster is kept when
  ``P(a > a_min, b > b_min, 0 <= c < c_max | data) >= model_config["subset_prob"]``; the mapping
  is then fitted on the ``(subset, full)`` pairs of that subset.  Laws and mapping share no
  parameters, so stage 1's posterior of the kept clusters is their joint-model posterior.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import xarray as xr

from codbayes._version import __version__
from codbayes.data.ladder import Ladder
from codbayes.diagnostics import DEFAULT_THRESHOLDS, check_convergence, convergence_summary
from codbayes.methods.base import NotFittedError, Predictor, as_flops
from codbayes.model import (
    DEFAULT_MODEL_CONFIG,
    LAW_VARS,
    MAP_VARS,
    FitData,
    build_model,
    extrapolatable_probability,
    flatten_draws,
    merge_config,
    predict_draws,
    prepare_data,
)
from codbayes.prediction import Prediction
from codbayes.sampling import reproducible
from codbayes.subset import ClusteredBenchmark

__all__ = ["SCHEMA_VERSION", "CODBayes"]

#: version of the saved-fit layout (``fit_data`` group and attributes)
SCHEMA_VERSION = 1
SUBSET_MODES = ("threshold", "posterior")
_SEED_PREDICT = 1  # stream key of the posterior predictive RNG


def _default_nuts_sampler() -> str:
    return "nutpie" if importlib.util.find_spec("nutpie") is not None else "pymc"


def _config_hash(*configs: Mapping[str, Any]) -> str:
    text = json.dumps(configs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class CODBayes(Predictor):
    """Hierarchical Bayesian COD.

    Parameters
    ----------
    model_config : Mapping, optional
        Priors and structure, deep-merged over :meth:`default_model_config` (see
        ``docs/model.md``), e.g. ``{"parameterization": "non_centered"}``.
    sampler_config : Mapping, optional
        Sampler settings merged over :meth:`default_sampler_config`; explicit keys here win over
        the ``seed`` / ``draws`` / ``tune`` / ``chains`` / ``progressbar`` arguments.
    cluster_method : {"meanshift", "kmeans"}, default "meanshift"
        Clustering method of the deterministic stage.
    cluster_params : Mapping, optional
        Extra parameters of the clustering method.
    smoothing : optional
        Feature smoothing across rungs (see :mod:`codbayes.features`).
    thresholds : FilterThresholds or Mapping, optional
        The paper's filter thresholds (point fits; and the posterior filter when
        ``subset="posterior"``).
    subset : {"threshold", "posterior"}, default "threshold"
        How the predictable subset is chosen (module docstring).
    seed : int, default 0
        Seed of the sampler and of the posterior predictive draws.
    draws, tune, chains : int, default 1000, 1000, 4
        Posterior draws and tuning steps per chain, number of chains (``tune=None``: ``draws``).
    progressbar : bool, default True
        Show the sampler's progress bar.

    Attributes
    ----------
    ladder_ : Ladder or None
        The ladder it was fitted on (``None`` after :meth:`fit_clustered` or :meth:`load`).
    clustered_ : dict of str to ClusteredBenchmark
        The deterministic stage per benchmark.
    fit_data_ : FitData
        The arrays the model was built from.
    model_ : pymc.Model or None
        The (final) PyMC model (``None`` after :meth:`load`).
    idata_ : xarray.DataTree
        ``posterior``, ``sample_stats``, ``observed_data`` and ``fit_data`` groups.
    diagnostics_ : dict
        ``max_rhat``, ``min_ess_bulk``, ``divergences`` of the fit.
    model_config_, sampler_config_ : dict
        The merged configurations used.
    """

    name: ClassVar[str] = "cod-bayes"

    def __init__(
        self,
        model_config: Mapping[str, Any] | None = None,
        sampler_config: Mapping[str, Any] | None = None,
        cluster_method: str = "meanshift",
        cluster_params: Mapping[str, Any] | None = None,
        smoothing: Any = None,
        thresholds: Any = None,
        subset: str = "threshold",
        seed: int = 0,
        draws: int = 1000,
        tune: int | None = 1000,
        chains: int = 4,
        progressbar: bool = True,
    ) -> None:
        self.model_config = model_config
        self.sampler_config = sampler_config
        self.cluster_method = cluster_method
        self.cluster_params = cluster_params
        self.smoothing = smoothing
        self.thresholds = thresholds
        self.subset = subset
        self.seed = seed
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.progressbar = progressbar

    # ------------------------------------------------------------------ configuration
    @classmethod
    def default_model_config(cls) -> dict[str, Any]:
        """Default priors and model structure (a fresh copy)."""
        return copy.deepcopy(DEFAULT_MODEL_CONFIG)

    @classmethod
    def default_sampler_config(cls) -> dict[str, Any]:
        """Default sampler settings (a fresh copy).

        ``nuts_sampler`` is ``"nutpie"`` when installed, else ``"pymc"``; ``cores`` ``None`` means
        ``min(chains, os.cpu_count())``; ``nuts_kwargs`` are passed to the NUTS implementation
        (e.g. ``{"max_treedepth": 12}``); ``rhat_max``, ``ess_min`` and ``max_divergences`` are the
        thresholds of the :class:`~codbayes.errors.ConvergenceWarning`.
        """
        return {
            "draws": 1000,
            "tune": 1000,
            "chains": 4,
            "cores": None,
            "nuts_sampler": _default_nuts_sampler(),
            "target_accept": 0.95,
            "nuts_kwargs": {},
            "random_seed": 0,
            "progressbar": True,
            **DEFAULT_THRESHOLDS,
        }

    def _merged_configs(self) -> tuple[dict[str, Any], dict[str, Any]]:
        model_cfg = merge_config(self.default_model_config(), self.model_config)
        args = {
            "draws": self.draws,
            "tune": self.draws if self.tune is None else self.tune,
            "chains": self.chains,
            "random_seed": self.seed,
            "progressbar": self.progressbar,
        }
        sampler_cfg = {**self.default_sampler_config(), **args, **dict(self.sampler_config or {})}
        if sampler_cfg["cores"] is None:
            sampler_cfg["cores"] = min(int(sampler_cfg["chains"]), os.cpu_count() or 1)
        if self.subset not in SUBSET_MODES:
            raise ValueError(f"subset must be one of {SUBSET_MODES}, got {self.subset!r}")
        return model_cfg, sampler_cfg

    def _filter_thresholds(self) -> dict[str, float]:
        t = self.thresholds
        if t is None:
            return {"a_min": 1.0, "b_min": 0.1, "c_max": 1.0}
        if isinstance(t, Mapping):
            return {"a_min": 1.0, "b_min": 0.1, "c_max": 1.0, **dict(t)}
        return {"a_min": t.a_min, "b_min": t.b_min, "c_max": t.c_max}

    # ------------------------------------------------------------------ fitting
    def fit(self, ladder: Ladder) -> Self:
        """Cluster every benchmark, build the model, sample; returns ``self``."""
        from codbayes.methods.cod_point import analyse_benchmark

        clustered = [
            analyse_benchmark(
                ladder,
                bench,
                cluster_method=self.cluster_method,
                cluster_params=self.cluster_params,
                smoothing=self.smoothing,
                thresholds=self.thresholds,
            )
            for bench in ladder.benchmark_names
        ]
        self.fit_clustered(clustered)
        self.ladder_ = ladder
        return self

    def fit_clustered(self, clustered: Sequence[ClusteredBenchmark]) -> Self:
        """Fit the Bayesian model to already clustered benchmarks; returns ``self``.

        Benchmarks without any cluster (every ladder model fails every item) are not modelled;
        their prediction is the top rung's observed full score.
        """
        model_cfg, sampler_cfg = self._merged_configs()
        clustered = list(clustered)
        self.clustered_ = {cb.benchmark: cb for cb in clustered}
        modelled = [cb for cb in clustered if cb.n_clusters > 0]
        self.constant_ = {
            cb.benchmark: float(cb.full_score[np.flatnonzero(cb.is_ladder)[-1]])
            for cb in clustered
            if cb.n_clusters == 0
        }
        if not modelled:
            raise ValueError("no benchmark has any emerged cluster; nothing to fit")
        self.model_config_, self.sampler_config_ = model_cfg, sampler_cfg
        if self.subset == "threshold":
            data = prepare_data(modelled)
            model = build_model(data, model_cfg)
            idata = self._sample(model, sampler_cfg)
        else:
            idata, data, model = self._fit_posterior_subset(modelled, model_cfg, sampler_cfg)
        free = [rv.name for rv in model.free_RVs]
        if self.subset == "posterior":
            free = free + list(self.stage1_free_)
        self.fit_data_, self.model_ = data, model
        self.diagnostics_ = convergence_summary(idata, free)
        idata["fit_data"] = self._fit_data_dataset(data, free)
        self.idata_ = idata
        self.ladder_ = None
        check_convergence(self.diagnostics_, sampler_cfg, stacklevel=3)
        return self

    def _sample(self, model: Any, cfg: Mapping[str, Any], seed_offset: int = 0) -> xr.DataTree:
        import pymc as pm

        seed = cfg["random_seed"]
        kwargs: dict[str, Any] = {
            "draws": int(cfg["draws"]),
            "tune": int(cfg["tune"]),
            "chains": int(cfg["chains"]),
            "cores": int(cfg["cores"]),
            "random_seed": None if seed is None else int(seed) + seed_offset,
            "progressbar": bool(cfg["progressbar"]),
            "quiet": not bool(cfg["progressbar"]),  # no progress: no PyMC log lines either
            "nuts_sampler": cfg["nuts_sampler"],
            "model": model,
        }
        nuts = dict(cfg.get("nuts_kwargs") or {})
        if cfg.get("target_accept") is not None:
            nuts["target_accept"] = float(cfg["target_accept"])
        if nuts:
            kwargs["nuts"] = nuts
        with reproducible():
            return pm.sample(**kwargs)

    def _fit_posterior_subset(
        self,
        clustered: list[ClusteredBenchmark],
        model_cfg: dict[str, Any],
        sampler_cfg: dict[str, Any],
    ) -> tuple[xr.DataTree, FitData, Any]:
        """Two-stage fit: laws of all clusters, posterior filter, then the mapping."""
        all_masks = {cb.benchmark: np.ones(cb.n_clusters, dtype=bool) for cb in clustered}
        stage1 = prepare_data(clustered, law_masks=all_masks)
        laws_model = build_model(stage1, model_cfg, mapping=False)
        idata = self._sample(laws_model, sampler_cfg)
        self.stage1_free_ = [rv.name for rv in laws_model.free_RVs]
        post = flatten_draws(idata["posterior"].to_dataset(), ("a", "b", "c"))
        prob = extrapolatable_probability(post, stage1, **self._filter_thresholds())
        keep = prob >= float(model_cfg["subset_prob"])
        subset_masks = {}
        for k, cb in enumerate(clustered):
            mine = stage1.cluster_bench == k
            mask = keep[mine]
            if not mask.any():  # keep the most probable cluster rather than nothing
                warnings.warn(
                    f"{cb.benchmark}: no cluster passes the posterior filter; keeping the most "
                    "probable one",
                    stacklevel=3,
                )
                mask = np.zeros(mine.sum(), dtype=bool)
                mask[int(np.argmax(prob[mine]))] = True
            subset_masks[cb.benchmark] = mask
        data = prepare_data(clustered, law_masks=all_masks, subset_masks=subset_masks)
        self.subset_probability_ = pd.Series(
            prob,
            index=pd.MultiIndex.from_arrays(
                [[data.benchmarks[k] for k in data.cluster_bench], data.cluster_label],
                names=["benchmark", "label"],
            ),
            name="p_extrapolatable",
        )
        map_model = build_model(data, model_cfg, laws=False)
        map_idata = self._sample(map_model, sampler_cfg, seed_offset=1)
        posterior = xr.merge(
            [idata["posterior"].to_dataset(), map_idata["posterior"].to_dataset()],
            compat="override",
            join="inner",
        )
        idata["posterior"] = posterior
        if "sample_stats" in map_idata.children:
            idata["sample_stats_mapping"] = map_idata["sample_stats"].to_dataset()
        if "observed_data" in map_idata.children:
            obs = idata["observed_data"].to_dataset() if "observed_data" in idata.children else None
            mapped = map_idata["observed_data"].to_dataset()
            idata["observed_data"] = mapped if obs is None else xr.merge([obs, mapped])
        return idata, data, map_model

    def _fit_data_dataset(self, data: FitData, free: list[str]) -> xr.Dataset:
        ds = data.to_dataset()
        configs = {"model_config": self.model_config_, "sampler_config": self.sampler_config_}
        ds.attrs.update(
            {
                "schema_version": SCHEMA_VERSION,
                "codbayes_version": __version__,
                "method": self.name,
                "subset": self.subset,
                "model_config": json.dumps(self.model_config_, sort_keys=True, default=str),
                "sampler_config": json.dumps(self.sampler_config_, sort_keys=True, default=str),
                "params": json.dumps(
                    {k: v for k, v in self.get_params().items() if _jsonable(v)},
                    sort_keys=True,
                    default=str,
                ),
                "config_hash": _config_hash(configs),
                "free_vars": json.dumps(free),
                "constant": json.dumps(self.constant_),
                "diagnostics": json.dumps(self.diagnostics_),
            }
        )
        return ds

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        if getattr(self, "idata_", None) is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(ladder) first")

    def predict(
        self,
        target_flops: float | Sequence[float] | np.ndarray,
        *,
        noise: bool = True,
    ) -> Prediction:
        """Posterior predictive scores of every benchmark at ``target_flops`` (FLOPs).

        Parameters
        ----------
        target_flops : float or array_like
            One or more target computes.
        noise : bool, default True
            Include the target model's own noise (its effective-compute offset, finite items,
            mapping residual); ``False`` gives the posterior of the expected score of the family.

        Returns
        -------
        Prediction
            Draws of shape ``(n_benchmarks, n_targets, chains * draws)``; the same seed gives the
            same draws.
        """
        self._check_fitted()
        flops = as_flops(target_flops)
        data = self.fit_data_
        post = flatten_draws(self.idata_["posterior"].to_dataset(), LAW_VARS + MAP_VARS)
        rng = np.random.default_rng(np.random.SeedSequence([int(self.seed), _SEED_PREDICT]))
        modelled = predict_draws(
            post,
            data,
            flops,
            rng,
            noise=noise,
            likelihood=self.model_config_["likelihood"],
            mapping=self.model_config_["mapping"],
            ladder_offsets=not self.model_config_["rung_offsets"],
            extrapolation_sd=float(self.model_config_.get("extrapolation_sd", 0.0)),
        )
        n_draws = modelled.shape[2]
        benchmarks = list(self.clustered_) if self.clustered_ else list(data.benchmarks)
        for bench in self.constant_:
            if bench not in benchmarks:
                benchmarks.append(bench)
        draws = np.empty((len(benchmarks), flops.size, n_draws))
        info = {}
        for b, bench in enumerate(benchmarks):
            if bench in self.constant_:
                draws[b] = self.constant_[bench]
                cb = self.clustered_.get(bench) if self.clustered_ else None
                info[bench] = cb.info() if cb is not None else {}
            else:
                draws[b] = modelled[data.benchmarks.index(bench)]
                info[bench] = data.info.get(bench, {})
        return Prediction(
            method=self.name,
            target_flops=flops,
            benchmarks=benchmarks,
            draws=draws,
            info=info,
            diagnostics=dict(self.diagnostics_),
            seed=int(self.seed),
        )

    # ------------------------------------------------------------------ extras
    def sample_prior_predictive(
        self, draws: int = 500, ladder: Ladder | None = None
    ) -> xr.DataTree:
        """Prior and prior predictive draws of the model (of the fitted data, or of ``ladder``).

        Parameters
        ----------
        draws : int, default 500
            Number of draws.
        ladder : Ladder, optional
            Build the model for this ladder (clustering it first) instead of the fitted one.
        """
        import pymc as pm

        model_cfg, _ = self._merged_configs()
        if ladder is not None:
            from codbayes.methods.cod_point import analyse_benchmark

            clustered = [
                analyse_benchmark(
                    ladder,
                    b,
                    cluster_method=self.cluster_method,
                    cluster_params=self.cluster_params,
                    smoothing=self.smoothing,
                    thresholds=self.thresholds,
                )
                for b in ladder.benchmark_names
            ]
            data = prepare_data([cb for cb in clustered if cb.n_clusters > 0])
        else:
            self._check_fitted()
            data = self.fit_data_
        model = build_model(data, model_cfg)
        with reproducible():
            return pm.sample_prior_predictive(draws=draws, model=model, random_seed=self.seed)

    def summary(self, var_names: Sequence[str] | None = None, **kwargs: Any) -> pd.DataFrame:
        """ArviZ summary (mean, sd, interval, R-hat, ESS) of posterior variables.

        Parameters
        ----------
        var_names : sequence of str, optional
            Variables (default: the hyper-parameters, i.e. the free variables without a
            ``cluster`` or ``obs`` dimension).
        **kwargs
            Passed to :func:`arviz.summary` (e.g. ``ci_prob=0.9``).
        """
        import arviz as az

        self._check_fitted()
        post = self.idata_["posterior"].to_dataset()
        if var_names is None:
            free = json.loads(self.idata_["fit_data"].attrs["free_vars"])
            var_names = [v for v in free if v in post and "cluster" not in post[v].dims]
        kwargs.setdefault("round_to", "none")
        return az.summary(self.idata_, var_names=list(var_names), **kwargs)

    def cluster_summary(self) -> pd.DataFrame:
        """Posterior medians of every modelled cluster's ``g, a, b, c, kappa_items``."""
        from codbayes.model import cluster_table

        self._check_fitted()
        post = flatten_draws(
            self.idata_["posterior"].to_dataset(), ("g", "a", "b", "c", "kappa_items")
        )
        return cluster_table(post, self.fit_data_)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fit (posterior, sample stats, observed and fit data, config) to netCDF."""
        self._check_fitted()
        path = Path(path)
        tree = self.idata_.copy()
        tree.to_netcdf(path, engine="h5netcdf")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> CODBayes:
        """Read a fit written by :meth:`save`; ready to :meth:`predict`."""
        tree = xr.open_datatree(path, engine="h5netcdf").load()
        attrs = tree["fit_data"].attrs
        if int(attrs.get("schema_version", -1)) != SCHEMA_VERSION:
            raise ValueError(
                f"{path}: saved fit has schema version {attrs.get('schema_version')}, "
                f"this codbayes reads {SCHEMA_VERSION}"
            )
        params = json.loads(attrs["params"])
        params["model_config"] = json.loads(attrs["model_config"])
        params["sampler_config"] = json.loads(attrs["sampler_config"])
        est = cls(**{k: v for k, v in params.items() if k in cls._param_names()})
        est.model_config_ = params["model_config"]
        est.sampler_config_ = params["sampler_config"]
        est.fit_data_ = FitData.from_dataset(tree["fit_data"].to_dataset())
        est.constant_ = json.loads(attrs["constant"])
        est.diagnostics_ = {
            k: (math.nan if v is None else float(v))
            for k, v in json.loads(attrs["diagnostics"]).items()
        }
        est.idata_, est.model_, est.clustered_, est.ladder_ = tree, None, {}, None
        return est


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True
