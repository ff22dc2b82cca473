"""The hierarchical Bayesian COD model: data preparation, the PyMC graph, posterior prediction.

Pipeline (see ``docs/model.md`` for the full statement and the reasons behind each prior):

1. :func:`prepare_data` turns a list of :class:`~codbayes.subset.ClusteredBenchmark` into
   :class:`FitData`: long-format binomial counts ``(cluster, rung, successes, trials)`` for the
   clusters entering the scaling laws, cluster sizes, the predictable-subset mask, and the
   ``(subset score, full score)`` pairs of the ladder and anchor models for the mapping.
2. :func:`build_model` builds one ``pm.Model``:

   * per cluster ``j`` of benchmark ``k`` the COD law
     ``mu_ji = cod_law(x_i exp(delta_i), g_j, a_j, b_j, c_j)`` with hierarchical (cluster within
     benchmark within global) priors on ``log_loss_j = log a_j - b_j z_j`` (the log reducible
     loss at ``z_j``, the log compute where the cluster's curve is best measured, far less
     correlated with ``b`` than
     ``log a``),
     ``log b_j``, ``logit h_j`` (``h = exp(-c)``, so ``c >= 0``) and ``logit g_j`` (centred on the
     benchmark's guess rate when known);
   * a latent log-compute offset ``delta_i`` per ladder rung, shared by all clusters and benchmarks,
     restricted to the part not explained by an intercept and slope in log compute (those are
     absorbed by ``a`` and ``b``), ``delta ~ N(0, sigma_rung^2 P)``;
   * a Beta-binomial likelihood whose concentration grows with cluster size
     (:func:`concentration`): the cluster mean varies around the law like an average of ``m_j``
     items (``kappa_items = m_j tau_k``) plus a law misfit of ``sigma_fit_k`` accuracy points;
   * the subset-to-full mapping ``f(s) = phi s + (1 - phi) r(s)`` (:mod:`codbayes.mapping_bayes`),
     with ``r`` a monotone Bernstein polynomial whose logits are pooled across benchmarks, and the
     observation ``full_i ~ N(f(s_i), (1 - phi_k) sigma_map_k + floor)``.

3. :func:`predict_draws` draws posterior predictive scores at target computes in numpy
   (vectorised over draws x clusters; no recompilation): a fresh rung offset per draw and target,
   cluster means from the law, finite-item noise ``Beta(mu kappa, (1 - mu) kappa)``, the
   size-weighted subset score, then the mapping with its noise.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy import special

from codbayes.laws import cod_law
from codbayes.mapping_bayes import mapping_rest, n_mapping_params, weights_from_logits
from codbayes.subset import ClusteredBenchmark

#: Default priors and structure.  Every number is explained in ``docs/model.md``.
DEFAULT_MODEL_CONFIG: dict[str, Any] = {
    # cluster level, per parameter (or one string for all): the growth parameters are well
    # identified by the data and sample best centred; ceilings near 1 and guess levels are often
    # barely identified, non-centred avoids their funnels.  Benchmark-level means, rung offsets
    # and mapping logits (few groups): non-centred.
    "parameterization": {
        "log_loss": "centered",
        "log_b": "centered",
        "logit_h": "centered",
        "logit_g": "non_centered",
    },
    "benchmark_parameterization": "non_centered",
    # hierarchical cluster parameters: global mean ~ N(mu, sigma); benchmark mean ~
    # N(global, HalfNormal(between)); cluster ~ N(benchmark mean, HalfNormal(within))
    "log_loss": {"mu": -0.5, "sigma": 1.0, "between": 0.75, "within": 1.5},
    "log_b": {"mu": -1.0, "sigma": 0.75, "between": 0.5, "within": 0.75},
    "logit_h": {"mu": 2.5, "sigma": 1.5, "between": 1.0, "within": 1.5, "fixed_within": True},
    # guess level: 0 if the guess rate is known to be 0; logit g_j ~ N(logit(guess rate),
    # known_within) if known; else N(free benchmark level ~ N(unknown_mu, unknown_sigma),
    # HalfNormal(within))
    "logit_g": {"unknown_mu": -4.0, "unknown_sigma": 1.5, "known_within": 0.25, "within": 1.0},
    # curvature of the log reducible loss in log compute, per cluster (None: the COD law), e.g.
    # {"mu": 0, "sigma": 0.05, "between": 0.03, "within": 0.03}:
    # log(a x^-b) -> log a - b z - q/2 (z - z_ref)^2, q hierarchical like log_b
    "curvature": None,
    # likelihood of the cluster accuracies: "normal" (mean = law, variance from
    # cluster_variance) or "beta_binomial" (same variance, Beta-binomial shape)
    "likelihood": "normal",
    # finite-item noise: kappa_items = cluster size * tau, log tau ~ N(mu, sigma) per benchmark
    # (sigma 0: tau = e^mu fixed; None: no item term); law misfit in accuracy points:
    # sigma_fit ~ HalfNormal(misfit) per benchmark (0: off).  A free tau competes with the misfit
    # for the same residuals (bimodal posteriors), so tau is fixed by default.
    "log_tau": {"mu": 4.6, "sigma": 0.0},
    "misfit": 0.03,
    # Every model (rung or target) sees an effective-compute offset ("luck"): model-level, shared
    # by all benchmarks, sd offset_sd, plus a (model, benchmark) part, sd offset_sd_benchmark
    # (natural-log compute).  By default the offsets are not fitted (they are confounded with the
    # law's misfit, see docs/model.md) but propagated at prediction time: the target draws its
    # own, and the ladder's unknown offsets shift each cluster's extrapolation through its
    # weighted intercept-and-slope leverage (predict_draws).
    "offset_sd": 0.15,
    # the law's extrapolation error (prediction only): each benchmark's subset score is shifted
    # by N(0, (extrapolation_sd * ln(C_target / C_top))^2) on the logit scale
    "extrapolation_sd": 0.05,
    "offset_sd_benchmark": 0.07,
    # fit the rung offsets as latent variables instead: sigma_rung ~ HalfNormal(sigma_rung),
    # sigma_rung_benchmark ~ HalfNormal(sigma_rung_benchmark) (0: none)
    "rung_offsets": False,
    # restrict the offsets to the part not explained by an intercept and slope in log compute
    # (identified, but then the luck of the ladder never widens the extrapolation)
    "rung_projection": True,
    "sigma_rung": 0.2,
    "sigma_rung_benchmark": 0.1,
    # subset-to-full mapping (rest-of-benchmark Bernstein polynomial)
    "mapping": {
        # the benchmarks' mapping parameters are well identified: centred samples far better
        "parameterization": "centered",
        # spread of the mapping parameters across benchmarks: learned (HalfNormal(between)) or
        # fixed at `between`; "auto": fixed below MAPPING_LEARNED_MIN_BENCH benchmarks, where a
        # learned spread is its prior and makes a funnel (2-3 benchmarks: 76-733 divergences)
        "fixed_between": "auto",
        "kind": "power",
        "degree": 5,  # Bernstein only
        "free_ends": True,
        "log_p_mu": 0.0,  # Kumaraswamy only: prior centres of log p and log q
        "log_q_mu": 0.0,
        "start_mu": 0.0,  # prior centre of logit r(0)
        "end_mu": 2.0,  # prior centre of logit((r(1) - r(0)) / (1 - r(0)))
        "z_mu": 0.0,
        "z_sigma": 1.5,
        "between": 1.0,
        "sigma": 0.05,
        "floor": 0.002,
        # extra deviation of anchor models (another family) from the ladder's mapping, on the
        # rest-score scale: sigma_anchor ~ HalfNormal(.) shared by all benchmarks (0: none)
        "anchor_sigma": 0.0,
    },
    # posterior subset selection (subset="posterior")
    "subset_prob": 0.5,
}

PARAMETERIZATIONS = ("centered", "non_centered")
#: with this many benchmarks or more the mapping's cross-benchmark spread is learned ("auto")
MAPPING_LEARNED_MIN_BENCH = 8
LIKELIHOODS = ("normal", "beta_binomial")
_MU_EPS = 1e-6


def merge_config(defaults: Mapping[str, Any], user: Mapping[str, Any] | None) -> dict[str, Any]:
    """Deep-merge ``user`` over ``defaults`` (nested dicts are merged key by key)."""
    out = copy.deepcopy(dict(defaults))
    for key, value in (user or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# ---------------------------------------------------------------------------------------- data
@dataclass(frozen=True, eq=False)
class FitData:
    """Everything the model and the posterior prediction need, as plain arrays.

    Clusters are those entering the scaling-law part, concatenated over benchmarks.

    Attributes
    ----------
    benchmarks : list of str
        Benchmark names, shape ``(n_bench,)``.
    rungs : list of str
        Ladder models by compute, shape ``(n_rung,)``.
    log_x : numpy.ndarray
        ``log(compute / compute_unit)`` of the rungs.
    compute_unit : float
        Compute unit (smallest rung's FLOPs).
    bench_unit : numpy.ndarray
        Each benchmark's own compute unit (for the filter thresholds).
    guess_rate : numpy.ndarray
        Known guess rate per benchmark, NaN if unknown.
    n_items : numpy.ndarray
        Items per benchmark.
    phi : numpy.ndarray
        Share of items in the predictable subset per benchmark.
    cluster_bench, cluster_label : numpy.ndarray
        Benchmark index and original label per cluster, shape ``(n_cl,)``.
    size : numpy.ndarray
        Items per cluster.
    in_subset : numpy.ndarray
        Boolean, cluster belongs to the predictable subset.
    z_ref : numpy.ndarray
        Per cluster, the log rescaled compute where its curve is best measured (the mean of the
        rungs' ``log x`` weighted by ``acc (1 - acc)``); the model's ``log_loss`` is the log
        reducible loss there, which decorrelates it from ``b``.
    obs_cluster, obs_rung, obs_y, obs_n : numpy.ndarray
        Long-format binomial data of the law part, shape ``(n_obs,)``.
    map_bench, map_subset, map_full : numpy.ndarray
        ``(subset, full)`` score pairs of ladder and anchor models, shape ``(n_pairs,)``.
    map_model : list of str
        Model of each pair.
    map_anchor : numpy.ndarray
        Boolean, the pair is an anchor's (another model family).
    info : dict
        ``ClusteredBenchmark.info()`` per benchmark.
    """

    benchmarks: list[str]
    rungs: list[str]
    log_x: np.ndarray
    compute_unit: float
    bench_unit: np.ndarray
    guess_rate: np.ndarray
    n_items: np.ndarray
    phi: np.ndarray
    cluster_bench: np.ndarray
    cluster_label: np.ndarray
    size: np.ndarray
    in_subset: np.ndarray
    z_ref: np.ndarray
    obs_cluster: np.ndarray
    obs_rung: np.ndarray
    obs_y: np.ndarray
    obs_n: np.ndarray
    map_bench: np.ndarray
    map_subset: np.ndarray
    map_full: np.ndarray
    map_model: list[str]
    map_anchor: np.ndarray
    info: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def n_bench(self) -> int:
        """Number of benchmarks."""
        return len(self.benchmarks)

    @property
    def n_clusters(self) -> int:
        """Number of clusters in the law part."""
        return int(self.size.size)

    @property
    def log_x_center(self) -> float:
        """Centre ``z_c`` of the ladder in log rescaled compute."""
        return float(np.mean(self.log_x))

    def subset_weights(self) -> np.ndarray:
        """Benchmark x cluster matrix of subset weights (size share within the subset)."""
        w = np.zeros((self.n_bench, self.n_clusters))
        w[self.cluster_bench, np.arange(self.n_clusters)] = self.size * self.in_subset
        total = w.sum(axis=1, keepdims=True)
        return np.divide(w, total, out=np.zeros_like(w), where=total > 0)

    def to_dataset(self) -> xr.Dataset:
        """The ``fit_data`` group: training data as an ``xarray.Dataset``."""
        ds = xr.Dataset(
            {
                "log_x": ("rung", self.log_x),
                "bench_unit": ("benchmark", self.bench_unit),
                "guess_rate": ("benchmark", self.guess_rate),
                "n_items": ("benchmark", self.n_items),
                "phi": ("benchmark", self.phi),
                "cluster_bench": ("cluster", self.cluster_bench),
                "cluster_label": ("cluster", self.cluster_label),
                "size": ("cluster", self.size),
                "in_subset": ("cluster", self.in_subset.astype(np.int8)),
                "z_ref": ("cluster", self.z_ref),
                "obs_cluster": ("obs", self.obs_cluster),
                "obs_rung": ("obs", self.obs_rung),
                "obs_y": ("obs", self.obs_y),
                "obs_n": ("obs", self.obs_n),
                "map_bench": ("pair", self.map_bench),
                "map_subset": ("pair", self.map_subset),
                "map_full": ("pair", self.map_full),
                "map_model": ("pair", np.asarray(self.map_model, dtype=str)),
                "map_anchor": ("pair", self.map_anchor.astype(np.int8)),
            },
            coords={"benchmark": self.benchmarks, "rung": self.rungs},
            attrs={"compute_unit": self.compute_unit},
        )
        for key in ("n_clusters", "n_extrapolatable", "subset_fraction", "n_items"):
            ds[f"info_{key}"] = (
                "benchmark",
                np.array([self.info.get(b, {}).get(key, np.nan) for b in self.benchmarks], float),
            )
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitData:
        """Inverse of :meth:`to_dataset`."""
        benchmarks = [str(b) for b in ds["benchmark"].values]
        info = {
            b: {
                key: float(ds[f"info_{key}"].values[k])
                for key in ("n_items", "n_clusters", "n_extrapolatable", "subset_fraction")
            }
            for k, b in enumerate(benchmarks)
        }
        return cls(
            benchmarks=benchmarks,
            rungs=[str(r) for r in ds["rung"].values],
            log_x=ds["log_x"].values.astype(float),
            compute_unit=float(ds.attrs["compute_unit"]),
            bench_unit=ds["bench_unit"].values.astype(float),
            guess_rate=ds["guess_rate"].values.astype(float),
            n_items=ds["n_items"].values,
            phi=ds["phi"].values.astype(float),
            cluster_bench=ds["cluster_bench"].values.astype(int),
            cluster_label=ds["cluster_label"].values.astype(int),
            size=ds["size"].values.astype(float),
            in_subset=ds["in_subset"].values.astype(bool),
            z_ref=ds["z_ref"].values.astype(float),
            obs_cluster=ds["obs_cluster"].values.astype(int),
            obs_rung=ds["obs_rung"].values.astype(int),
            obs_y=ds["obs_y"].values.astype(np.int64),
            obs_n=ds["obs_n"].values.astype(np.int64),
            map_bench=ds["map_bench"].values.astype(int),
            map_subset=ds["map_subset"].values.astype(float),
            map_full=ds["map_full"].values.astype(float),
            map_model=[str(m) for m in ds["map_model"].values],
            map_anchor=ds["map_anchor"].values.astype(bool),
            info=info,
        )


def default_law_mask(cb: ClusteredBenchmark) -> np.ndarray:
    """Clusters of ``cb`` in the predictable subset by the paper's thresholds.

    Falls back to all clusters (with a warning) when no cluster passes, so that the benchmark can
    still be predicted.
    """
    mask = cb.clusters["extrapolatable"].to_numpy(dtype=bool)
    if cb.n_clusters and not mask.any():
        warnings.warn(
            f"{cb.benchmark}: no extrapolatable cluster; using all {cb.n_clusters} clusters",
            stacklevel=2,
        )
        mask = np.ones(cb.n_clusters, dtype=bool)
    return mask


def prepare_data(
    clustered: Sequence[ClusteredBenchmark],
    *,
    law_masks: Mapping[str, np.ndarray] | None = None,
    subset_masks: Mapping[str, np.ndarray] | None = None,
) -> FitData:
    """Arrange clustered benchmarks as model data.

    Parameters
    ----------
    clustered : sequence of ClusteredBenchmark
        One per benchmark, all from the same ladder.
    law_masks : Mapping[str, numpy.ndarray], optional
        Per benchmark, boolean over ``cb.clusters`` rows: clusters entering the scaling-law part.
        Default: the extrapolatable clusters (:func:`default_law_mask`).
    subset_masks : Mapping[str, numpy.ndarray], optional
        Per benchmark, boolean over ``cb.clusters`` rows: the predictable subset (must be within the
        law mask).  Default: the law mask.

    Returns
    -------
    FitData
    """
    if not clustered:
        raise ValueError("no benchmarks to fit")
    rung_compute: dict[str, float] = {}
    for cb in clustered:
        for model, flops, ladder in zip(cb.models, cb.compute, cb.is_ladder, strict=True):
            if ladder:
                rung_compute[model] = float(flops)
    rungs = sorted(rung_compute, key=lambda m: rung_compute[m])
    unit = min(rung_compute.values())
    log_x = np.log(np.array([rung_compute[r] for r in rungs]) / unit)
    rung_index = {r: i for i, r in enumerate(rungs)}

    cl_bench, cl_label, cl_size, cl_sub, cl_zref = [], [], [], [], []
    obs: list[tuple[int, int, int, int]] = []
    pairs: list[tuple[int, float, float, str, bool]] = []
    phi, n_items = [], []
    for k, cb in enumerate(clustered):
        law = np.asarray(law_masks[cb.benchmark] if law_masks else default_law_mask(cb), dtype=bool)
        sub = np.asarray(subset_masks[cb.benchmark], dtype=bool) if subset_masks else law
        if np.any(sub & ~law):
            raise ValueError(f"{cb.benchmark}: subset clusters must enter the law part")
        sizes = cb.clusters["size"].to_numpy(dtype=float)
        labels = cb.clusters.index.to_numpy()
        for j in np.flatnonzero(law):
            c = len(cl_size)
            cl_bench.append(k)
            cl_label.append(int(labels[j]))
            cl_size.append(sizes[j])
            cl_sub.append(bool(sub[j]))
            ladder = np.flatnonzero(cb.is_ladder)
            lx = np.array([log_x[rung_index[cb.models[i]]] for i in ladder])
            acc = np.nan_to_num(cb.accuracy[j, ladder], nan=0.0)
            info = acc * (1 - acc) + 1e-3
            cl_zref.append(float((info * lx).sum() / info.sum()))
            for i, model in enumerate(cb.models):
                if cb.is_ladder[i] and cb.trials[j, i] > 0:
                    y, n = round(cb.successes[j, i]), round(cb.trials[j, i])
                    obs.append((c, rung_index[model], min(y, n), n))
        n_items.append(cb.n_items)
        phi.append(sizes[sub].sum() / cb.n_items)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (sizes[sub, None] * cb.accuracy[sub]).sum(axis=0) / sizes[sub].sum()
        for i, model in enumerate(cb.models):
            if np.isfinite(s[i]) and np.isfinite(cb.full_score[i]):
                pairs.append((k, float(s[i]), float(cb.full_score[i]), model, not cb.is_ladder[i]))
    obs_arr = np.array(obs, dtype=np.int64).reshape(-1, 4)
    return FitData(
        benchmarks=[cb.benchmark for cb in clustered],
        rungs=rungs,
        log_x=log_x,
        compute_unit=unit,
        bench_unit=np.array([cb.compute_unit for cb in clustered], dtype=float),
        guess_rate=np.array(
            [np.nan if cb.guess_rate is None else cb.guess_rate for cb in clustered], dtype=float
        ),
        n_items=np.array(n_items, dtype=np.int64),
        phi=np.array(phi, dtype=float),
        cluster_bench=np.array(cl_bench, dtype=int),
        cluster_label=np.array(cl_label, dtype=int),
        size=np.array(cl_size, dtype=float),
        in_subset=np.array(cl_sub, dtype=bool),
        z_ref=np.array(cl_zref, dtype=float),
        obs_cluster=obs_arr[:, 0].astype(int),
        obs_rung=obs_arr[:, 1].astype(int),
        obs_y=obs_arr[:, 2],
        obs_n=obs_arr[:, 3],
        map_bench=np.array([p[0] for p in pairs], dtype=int),
        map_subset=np.array([p[1] for p in pairs], dtype=float),
        map_full=np.array([p[2] for p in pairs], dtype=float),
        map_model=[p[3] for p in pairs],
        map_anchor=np.array([p[4] for p in pairs], dtype=bool),
        info={cb.benchmark: cb.info() for cb in clustered},
    )


# ---------------------------------------------------------------------------------------- graph
def cluster_variance(mu: Any, kappa_items: Any, sigma_fit: Any, trials: Any = None) -> Any:
    """Variance of an observed cluster mean around the law (numpy or pytensor).

    ``mu (1 - mu) (1 / kappa_items + 1 / trials) + sigma_fit^2``: finite items
    (``kappa_items = m_j tau_k``, an average of ``m_j`` item-level deviations), finite samples
    (binomial, ``trials`` samples summed over the cluster's items; omitted if ``None``) and a law
    misfit of ``sigma_fit`` accuracy points, the same at every accuracy level.
    """
    inv = 1.0 / kappa_items if trials is None else 1.0 / kappa_items + 1.0 / trials
    return mu * (1 - mu) * inv + sigma_fit**2


def concentration(mu: Any, kappa_items: Any, sigma_fit: Any) -> Any:
    """Beta concentration of a cluster mean around the law (numpy or pytensor).

    The cluster mean varies around the law ``mu`` with variance
    ``Var = mu (1 - mu) / kappa_items + sigma_fit^2``:

    finite items (``kappa_items = m_j tau_k``: an average of ``m_j`` item-level deviations) plus a
    law misfit of ``sigma_fit`` accuracy points, the same at every accuracy level, so that the
    nearly-zero accuracies of the lower rungs do not dominate the fit of the growth.

    Returns
    -------
    array_like or TensorVariable
        ``kappa`` with ``Var = mu (1 - mu) / kappa`` (the ``+1`` of the Beta variance ignored).
    """
    return 1.0 / (1.0 / kappa_items + sigma_fit**2 / (mu * (1 - mu)))


def rung_offset_basis(log_x: np.ndarray) -> np.ndarray:
    """Orthonormal basis of rung offsets orthogonal to an intercept and a slope in ``log_x``.

    A common shift or a linear trend of all rungs' effective compute is indistinguishable from
    the clusters' ``a`` and ``b``; only the remaining ``n_rung - 2`` directions are identified.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_rung, n_rung - 2)`` (``(n_rung, 0)`` for fewer than 3 rungs).
    """
    n = log_x.size
    if n < 3:
        return np.zeros((n, 0))
    design = np.column_stack([np.ones(n), log_x - log_x.mean()])
    q, _ = np.linalg.qr(np.column_stack([design, np.eye(n)]))
    return q[:, 2:n]


def _normal(
    name: str, mu: Any, sigma: Any, dims: str | tuple[str, ...], centered: bool
) -> pt.TensorVariable:
    """``Normal(mu, sigma)``, centred or as ``mu + sigma * z`` with ``z ~ N(0, 1)``."""
    if centered:
        return pm.Normal(name, mu, sigma, dims=dims)
    raw = pm.Normal(f"{name}_z", 0.0, 1.0, dims=dims)
    return pm.Deterministic(name, mu + sigma * raw, dims=dims)


def _hierarchical(
    name: str,
    prior: Mapping[str, float],
    data: FitData,
    centered: bool,
    bench_centered: bool,
) -> pt.TensorVariable:
    """Cluster parameter with benchmark means pooled to a global mean.

    A level with a single member cannot inform its own spread (the spread's posterior is its
    prior, and the sampler meets a funnel), so such levels are collapsed, their prior variance
    added to the level above:

    * one benchmark: ``bench ~ N(mu, sqrt(sigma^2 + between^2))``, no global level;
    * at most one cluster per benchmark: ``cluster = bench`` with the within-benchmark spread
      added to the between-benchmark one;
    * both (one benchmark, one cluster): ``cluster ~ N(mu, sqrt(sigma^2 + between^2 +
      within^2))``.
    """
    k = data.cluster_bench
    one_bench = data.n_bench == 1
    one_per_bench = np.bincount(k, minlength=data.n_bench).max() <= 1
    within_sd = float(prior["within"])
    if one_bench and one_per_bench:
        sd = float(np.sqrt(prior["sigma"] ** 2 + prior["between"] ** 2 + within_sd**2))
        return pm.Normal(name, prior["mu"], sd, dims="cluster")
    if one_bench:
        sd = float(np.hypot(prior["sigma"], prior["between"]))
        bench = pm.Normal(f"{name}_bench", prior["mu"], sd, dims="benchmark")
    else:
        glob = pm.Normal(f"{name}_mu", prior["mu"], prior["sigma"])
        between_sd = float(prior["between"])
        if one_per_bench:
            between_sd = float(np.hypot(between_sd, within_sd))
        between = pm.HalfNormal(f"{name}_between", between_sd)
        if one_per_bench:
            return _normal(name, glob, between, "cluster", bench_centered)
        bench = _normal(f"{name}_bench", glob, between, "benchmark", bench_centered)
    if prior.get("fixed_within"):  # a fixed spread: no funnel for barely identified parameters
        within = pt.as_tensor_variable(np.full(data.n_bench, within_sd))
    elif prior.get("shared_within", True):  # one spread for all benchmarks
        within = pt.repeat(pm.HalfNormal(f"{name}_sd", within_sd), data.n_bench)
    else:
        within = pm.HalfNormal(f"{name}_sd", within_sd, dims="benchmark")
    return _normal(name, bench[k], within[k], "cluster", centered)


def _guess_levels(data: FitData, prior: Mapping[str, float], centered: bool) -> pt.TensorVariable:
    """Guess level ``g_j`` of every cluster.

    * benchmark guess rate known to be 0 (open-ended answers): ``g_j = 0`` exactly;
    * known rate ``g_k > 0``: ``logit g_j ~ N(logit g_k, known_within)`` (fixed spread);
    * unknown: ``logit g_j ~ N(m_k, s_k)`` with a free small benchmark level ``m_k`` and spread
      ``s_k ~ HalfNormal(within)``.
    """
    guess = data.guess_rate
    known = np.isfinite(guess)
    zero = known & (np.nan_to_num(guess, nan=1.0) <= 0.0)
    active = np.flatnonzero(~zero[data.cluster_bench])
    if active.size == 0:
        return pm.Deterministic("g", pt.zeros(data.n_clusters), dims="cluster")
    g_known = np.clip(np.nan_to_num(guess, nan=0.5), 1e-4, 1 - 1e-4)
    centre = pt.as_tensor_variable(np.log(g_known / (1 - g_known)))
    spread = pt.as_tensor_variable(np.full(data.n_bench, float(prior["known_within"])))
    unknown = np.flatnonzero(~known)
    if unknown.size:
        free = pm.Normal(
            "logit_g_free", prior["unknown_mu"], prior["unknown_sigma"], shape=unknown.size
        )
        centre = pt.set_subtensor(centre[unknown], free)
        sd = pm.HalfNormal("logit_g_sd", prior["within"], shape=unknown.size)
        spread = pt.set_subtensor(spread[unknown], sd)
    k = data.cluster_bench[active]
    if centered:
        logit_g = pm.Normal("logit_g", centre[k], spread[k], shape=active.size)
    else:
        raw = pm.Normal("logit_g_z", 0.0, 1.0, shape=active.size)
        logit_g = centre[k] + spread[k] * raw
    g = pt.set_subtensor(pt.zeros(data.n_clusters)[active], pt.sigmoid(logit_g))
    return pm.Deterministic("g", g, dims="cluster")


def _centered(cfg: Mapping[str, Any], name: str) -> bool:
    """Whether cluster-level parameter ``name`` is centred (``parameterization`` str or dict)."""
    choice = cfg["parameterization"]
    if isinstance(choice, Mapping):
        choice = choice.get(name, "centered")
    return choice == "centered"


def _add_laws(data: FitData, cfg: Mapping[str, Any], bench_centered: bool) -> None:
    """Scaling-law part: cluster laws, rung offsets, Beta-binomial likelihood."""
    log_loss, log_b, logit_h = (
        _hierarchical(name, cfg[name], data, _centered(cfg, name), bench_centered)
        for name in ("log_loss", "log_b", "logit_h")
    )
    g = _guess_levels(data, cfg["logit_g"], _centered(cfg, "logit_g"))

    b = pm.Deterministic("b", pt.exp(log_b), dims="cluster")
    pm.Deterministic("a", pt.exp(log_loss + b * data.z_ref), dims="cluster")
    c = pm.Deterministic("c", pt.softplus(-logit_h), dims="cluster")  # -log(sigmoid(logit_h))

    basis = rung_offset_basis(data.log_x) if cfg["rung_projection"] else np.eye(len(data.rungs))
    j, i = data.obs_cluster, data.obs_rung
    offset = pt.zeros(j.size)
    if not cfg["rung_offsets"]:  # offsets of known scale, propagated at prediction time
        pm.Deterministic("sigma_rung", pt.constant(float(cfg["offset_sd"])))
        pm.Deterministic("sigma_rung_benchmark", pt.constant(float(cfg["offset_sd_benchmark"])))
    elif basis.shape[1]:
        sigma_rung = pm.HalfNormal(
            "sigma_rung", cfg["sigma_rung"]
        )  # few rungs, weakly identified: parameterised like the benchmark level
        eta = _normal("rung_eta", 0.0, sigma_rung, "rung_free", bench_centered)
        delta = pm.Deterministic("delta", pt.dot(basis, eta), dims="rung")
        offset = delta[i]
        if cfg.get("sigma_rung_benchmark"):
            sigma_rb = pm.HalfNormal("sigma_rung_benchmark", cfg["sigma_rung_benchmark"])
            eta_b = _normal(
                "rung_bench_eta", 0.0, sigma_rb, ("benchmark", "rung_free"), bench_centered
            )
            delta_b = pm.Deterministic(
                "delta_benchmark", pt.dot(eta_b, basis.T), dims=("benchmark", "rung")
            )
            offset = offset + delta_b[data.cluster_bench[j], i]
    else:
        pm.HalfNormal("sigma_rung", cfg["sigma_rung"])
        pm.Deterministic("sigma_rung_benchmark", pt.constant(0.0))

    tau_cfg = cfg.get("log_tau")
    if tau_cfg and tau_cfg["sigma"] > 0:
        log_tau = pm.Normal("log_tau", tau_cfg["mu"], tau_cfg["sigma"], dims="benchmark")
        tau = pt.exp(log_tau)[data.cluster_bench]
    elif tau_cfg:  # fixed
        tau = pt.as_tensor_variable(np.full(data.n_clusters, np.exp(tau_cfg["mu"])))
    else:  # no finite-item term
        tau = pt.as_tensor_variable(np.full(data.n_clusters, np.inf))
    kappa_items = pm.Deterministic("kappa_items", data.size * tau, dims="cluster")
    misfit = cfg.get("misfit")
    if misfit:
        sigma_fit = pm.HalfNormal("sigma_fit", misfit, dims="benchmark")
    else:
        sigma_fit = pt.zeros(data.n_bench)

    # the law in each cluster's own compute unit (x / e^z_ref, a e^{-b z_ref} = e^log_loss): the
    # same curve as cod_law(x, g, a, b, c) but free of overflow in a when b is large
    z = data.log_x[i] - data.z_ref[j] + offset
    b_obs = b[j]
    if cfg.get("curvature"):
        q = _hierarchical("q", cfg["curvature"], data, _centered(cfg, "q"), bench_centered)
        b_obs = b_obs + 0.5 * q[j] * z
    mu = cod_law(pt.exp(z), g[j], pt.exp(log_loss)[j], b_obs, c[j], exp=pt.exp)
    mu = pt.clip(mu, _MU_EPS, 1 - _MU_EPS)
    fit_sd = sigma_fit[data.cluster_bench[j]]
    if cfg["likelihood"] == "beta_binomial":
        kappa = concentration(mu, kappa_items[j], fit_sd)
        pm.BetaBinomial(
            "y",
            alpha=mu * kappa,
            beta=(1 - mu) * kappa,
            n=data.obs_n,
            observed=data.obs_y,
            dims="obs",
        )
    else:
        sd = pt.sqrt(cluster_variance(mu, kappa_items[j], fit_sd, data.obs_n))
        pm.Normal("y", mu, sd, observed=data.obs_y / data.obs_n, dims="obs")


def mapping_spread_fixed(choice: bool | str, n_bench: int) -> bool:
    """Whether the mapping's cross-benchmark spread is fixed (``"auto"``: below 8 benchmarks)."""
    if choice == "auto":
        return n_bench < MAPPING_LEARNED_MIN_BENCH
    return bool(choice)


def _add_mapping(data: FitData, cfg: Mapping[str, Any]) -> None:
    """Subset-to-full mapping part: rest curve per benchmark, parameters pooled across them."""
    mcfg = cfg["mapping"]
    kind, degree, free_ends = mcfg["kind"], int(mcfg["degree"]), bool(mcfg["free_ends"])
    centre = np.full(n_mapping_params(kind, degree, free_ends), float(mcfg["z_mu"]))
    if free_ends:
        centre[:2] = mcfg["start_mu"], mcfg["end_mu"]
    if kind == "kumaraswamy":
        centre[-2:] = mcfg["log_p_mu"], mcfg["log_q_mu"]
    elif kind == "power":
        centre[-1] = mcfg["log_p_mu"]
    if data.n_bench == 1:  # no pooling across benchmarks: one level, both prior variances
        sd = float(np.hypot(mcfg["z_sigma"], mcfg["between"]))
        z = pm.Normal("map_z", centre, sd, dims=("benchmark", "map_free"))
    elif mapping_spread_fixed(mcfg.get("fixed_between", "auto"), data.n_bench):
        z_glob = pm.Normal("map_z_mu", centre, mcfg["z_sigma"], dims="map_free")
        z = pm.Normal("map_z", z_glob, float(mcfg["between"]), dims=("benchmark", "map_free"))
    else:
        z_glob = pm.Normal("map_z_mu", centre, mcfg["z_sigma"], dims="map_free")
        z_between = pm.HalfNormal("map_z_between", mcfg["between"], dims="map_free")
        centered = mcfg.get("parameterization", "centered") == "centered"
        z = _normal("map_z", z_glob, z_between, ("benchmark", "map_free"), centered)
    if kind == "bernstein":
        pm.Deterministic(
            "map_weights",
            weights_from_logits(
                z,
                free_ends=free_ends,
                exp=pt.exp,
                cumsum=pt.cumsum,
                concatenate=pt.concatenate,
                zeros_like=pt.zeros_like,
            ),
            dims=("benchmark", "map_knot"),
        )
    sigma_map = pm.HalfNormal("sigma_map", mcfg["sigma"], dims="benchmark")
    k = data.map_bench
    phi = data.phi[k]
    s = pt.as_tensor_variable(data.map_subset)
    rest = mapping_rest(s, z[k], kind=kind, degree=degree, free_ends=free_ends, module=pt)
    sd = (1 - phi) * sigma_map[k] + mcfg["floor"]
    if mcfg.get("anchor_sigma") and data.map_anchor.any():
        # anchors are another family: their own extra deviation from the ladder's mapping,
        # one scale pooled over all benchmarks' anchors
        sigma_anchor = pm.HalfNormal("sigma_anchor", mcfg["anchor_sigma"])
        sd = pt.sqrt(sd**2 + ((1 - phi) * sigma_anchor) ** 2 * data.map_anchor)
    pm.Normal("full", phi * s + (1 - phi) * rest, sd, observed=data.map_full, dims="pair")


def model_coords(data: FitData, cfg: Mapping[str, Any]) -> dict[str, list]:
    """Named dimensions of the model."""
    degree = int(cfg["mapping"]["degree"])
    return {
        "benchmark": list(data.benchmarks),
        "cluster": [
            f"{data.benchmarks[k]}:{lab}"
            for k, lab in zip(data.cluster_bench, data.cluster_label, strict=True)
        ],
        "rung": list(data.rungs),
        "rung_free": list(
            range(max(len(data.rungs) - 2, 0) if cfg["rung_projection"] else len(data.rungs))
        ),
        "obs": list(range(data.obs_y.size)),
        "pair": list(range(data.map_full.size)),
        "map_free": list(
            range(
                n_mapping_params(cfg["mapping"]["kind"], degree, bool(cfg["mapping"]["free_ends"]))
            )
        ),
        "map_knot": list(range(degree + 1)),
    }


def build_model(
    data: FitData,
    model_config: Mapping[str, Any] | None = None,
    *,
    laws: bool = True,
    mapping: bool = True,
) -> pm.Model:
    """Build the hierarchical COD model.

    Parameters
    ----------
    data : FitData
        Prepared data (:func:`prepare_data`).
    model_config : Mapping, optional
        Overrides of :data:`DEFAULT_MODEL_CONFIG` (deep-merged).
    laws, mapping : bool, default True
        Include the scaling-law part and/or the mapping part (the two share no parameters, so the
        posterior-subset scheme can fit them one after the other).

    Returns
    -------
    pymc.Model
    """
    cfg = merge_config(DEFAULT_MODEL_CONFIG, model_config)
    choices = cfg["parameterization"]
    choices = list(choices.values()) if isinstance(choices, Mapping) else [choices]
    for choice in [*choices, cfg["benchmark_parameterization"]]:
        if choice not in PARAMETERIZATIONS:
            raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS}, got {choice!r}")
    if cfg["likelihood"] not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {cfg['likelihood']!r}")
    if cfg["mapping"].get("parameterization", "centered") not in PARAMETERIZATIONS:
        raise ValueError(
            f"mapping parameterization must be one of {PARAMETERIZATIONS}, "
            f"got {cfg['mapping']['parameterization']!r}"
        )
    if int(cfg["mapping"]["degree"]) < 2:
        raise ValueError("mapping degree must be at least 2")
    bench_centered = cfg["benchmark_parameterization"] == "centered"
    with pm.Model(coords=model_coords(data, cfg)) as model:
        if laws:
            if data.n_clusters == 0:
                raise ValueError("no clusters enter the scaling-law part")
            _add_laws(data, cfg, bench_centered)
        if mapping:
            _add_mapping(data, cfg)
    return model


# ---------------------------------------------------------------------------------- prediction
def flatten_draws(posterior: xr.Dataset, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Posterior variables as arrays with one leading ``(chain x draw)`` sample axis.

    Names missing from ``posterior`` are skipped.
    """
    out = {}
    for name in names:
        if name not in posterior:
            continue
        da = posterior[name]
        other = [d for d in da.dims if d not in ("chain", "draw")]
        values = da.transpose("chain", "draw", *other).values
        out[name] = values.reshape(-1, *values.shape[2:])
    return out


LAW_VARS = (
    "q",
    "log_loss",
    "b",
    "c",
    "g",
    "kappa_items",
    "sigma_fit",
    "sigma_rung",
    "sigma_rung_benchmark",
)
MAP_VARS = ("map_z", "sigma_map")


def predict_draws(
    post: Mapping[str, np.ndarray],
    data: FitData,
    target_flops: np.ndarray,
    rng: np.random.Generator,
    *,
    noise: bool = True,
    likelihood: str = "normal",
    mapping: Mapping[str, Any] | None = None,
    ladder_offsets: bool = True,
    extrapolation_sd: float = 0.0,
) -> np.ndarray:
    """Posterior predictive benchmark scores at target computes (numpy, vectorised).

    Parameters
    ----------
    post : Mapping[str, numpy.ndarray]
        Flattened posterior draws (:func:`flatten_draws`) of :data:`LAW_VARS` and
        :data:`MAP_VARS`, each with a leading draw axis of the same length.
    data : FitData
        The data the posterior was fitted to.
    target_flops : numpy.ndarray
        Target computes in FLOPs, shape ``(n_targets,)``.
    rng : numpy.random.Generator
        Source of the predictive noise.
    noise : bool, default True
        Include the target's own noise (rung offset, finite items, mapping residual); ``False``
        gives the posterior of the expected score.
    likelihood : {"normal", "beta_binomial"}, default "normal"
        Shape of the cluster-level noise (as in the model).
    mapping : Mapping, optional
        ``kind``, ``degree``, ``free_ends`` of the mapping (default: the default config's).
    ladder_offsets : bool, default True
        Propagate the ladder rungs' unknown offsets (scale ``sigma_rung``,
        ``sigma_rung_benchmark``) through :func:`offset_leverage`; ``False`` when they were
        fitted as latent variables.
    extrapolation_sd : float, default 0.0
        SD per unit of natural-log compute beyond the top rung of a logit-scale shift of each
        benchmark's subset score (the law's extrapolation error, see ``docs/model.md``).

    Returns
    -------
    numpy.ndarray
        Score draws in [0, 1], shape ``(n_bench, n_targets, n_draws)``.
    """
    sub = np.flatnonzero(data.in_subset)
    b, c, g, kappa_items = (post[v][:, sub] for v in ("b", "c", "g", "kappa_items"))
    q = post["q"][:, sub] if "q" in post else None
    sigma_fit = post.get("sigma_fit", np.zeros((b.shape[0], data.n_bench)))[
        :, data.cluster_bench[sub]
    ]
    loss = np.exp(post["log_loss"][:, sub])  # a in each cluster's own unit e^z_ref
    n_draws = b.shape[0]
    weights = data.subset_weights()[:, sub]  # (n_bench, n_sub)
    bench_of = data.cluster_bench[sub]
    sigma_rung = post["sigma_rung"].reshape(n_draws, 1)
    sigma_rb = post.get("sigma_rung_benchmark", np.zeros(n_draws)).reshape(n_draws, 1)
    log_xt = np.log(np.asarray(target_flops, dtype=float) / data.compute_unit)
    z_ref = data.z_ref[sub]
    beta = likelihood == "beta_binomial"
    mcfg = {**DEFAULT_MODEL_CONFIG["mapping"], **dict(mapping or {})}
    mapping = {k: mcfg[k] for k in ("kind", "degree", "free_ends")}
    # the target's own evaluation: samples per cluster as on the largest observed rung
    trials = np.zeros(data.n_clusters)
    order = np.argsort(data.obs_rung, kind="stable")
    trials[data.obs_cluster[order]] = data.obs_n[order]
    trials = trials[sub]
    out = np.empty((data.n_bench, log_xt.size, n_draws))
    n_rung = len(data.rungs)
    n_sub = sub.size
    # one set of standard-normal (uniform for the Beta shape) noise per draw, shared by every
    # target: draw d is one model family member evaluated along the whole compute axis
    eps = {
        "offset": rng.normal(0.0, 1.0, (n_draws, 1)),
        "offset_bench": rng.normal(0.0, 1.0, (n_draws, data.n_bench)),
        "ladder": rng.normal(0.0, 1.0, (n_draws, 1, n_rung)),
        "ladder_bench": rng.normal(0.0, 1.0, (n_draws, data.n_bench, n_rung)),
        "cluster": rng.normal(0.0, 1.0, (n_draws, n_sub)),
        "cluster_beta": rng.uniform(0.0, 1.0, (n_draws, n_sub)),
        "misfit": rng.normal(0.0, 1.0, (n_draws, data.n_bench)),
        "extrapolation": rng.normal(0.0, 1.0, (n_draws, data.n_bench)),
        "mapping": rng.normal(0.0, 1.0, (n_draws, data.n_bench)),
    }
    for t, lx in enumerate(log_xt):
        offset = np.zeros((n_draws, 1))
        if noise:  # the target's own effective-compute offset, model-level + per benchmark
            offset = eps["offset"] * sigma_rung + (eps["offset_bench"] * sigma_rb)[:, bench_of]
        if noise and ladder_offsets:  # the ladder's own unknown offsets, through the fit
            u = eps["ladder"] * sigma_rung[:, :, None] + eps["ladder_bench"] * sigma_rb[:, :, None]
            lever = offset_leverage(data, lx, sub)  # (n_sub, n_rung)
            offset = offset - np.einsum("dsr,sr->ds", u[:, bench_of, :], lever)
        z = lx - z_ref + offset
        b_t = b + 0.5 * q * z if q is not None else b
        mu = cod_law(np.exp(z), g, loss, b_t, c)
        if noise:
            mu = np.clip(mu, _MU_EPS, 1 - _MU_EPS)
            if beta:
                kappa = concentration(mu, kappa_items, sigma_fit)
                mu = special.betaincinv(mu * kappa, (1 - mu) * kappa, eps["cluster_beta"])
            else:
                # finite items and samples: independent per cluster; law misfit: shared by the
                # benchmark's clusters (the extrapolation error of a law is systematic)
                sd = np.sqrt(cluster_variance(mu, kappa_items, 0.0, trials))
                shared = eps["misfit"][:, bench_of]
                mu = mu + sd * eps["cluster"] + sigma_fit * shared
                mu = np.clip(mu, 0.0, 1.0)
        s = mu @ weights.T  # (n_draws, n_bench)
        beyond = max(0.0, lx - float(data.log_x[-1]))
        if noise and extrapolation_sd > 0 and beyond > 1e-9:
            # the COD law's own extrapolation error: a shift of the benchmark's subset score on
            # the logit scale growing with the log-compute distance beyond the top rung
            shift = eps["extrapolation"] * (extrapolation_sd * beyond)
            s_in = np.clip(s, 1e-6, 1 - 1e-6)
            s = 1 / (1 + np.exp(-(np.log(s_in / (1 - s_in)) + shift)))
        rest_noise = eps["mapping"] * post["sigma_map"] if noise else 0.0
        rest = mapping_rest(s, post["map_z"], **mapping) + rest_noise
        rest = np.clip(rest, 0.0, 1.0)
        score = data.phi * s + (1 - data.phi) * rest
        out[:, t, :] = np.clip(score, 0.0, 1.0).T
    return out


def offset_leverage(data: FitData, log_x_target: float, clusters: np.ndarray) -> np.ndarray:
    """How rung offsets move each cluster's extrapolation to ``log_x_target`` (first order).

    If rung ``i`` was trained with an unknown effective-compute offset ``u_i``, a law fitted on
    nominal compute absorbs the offsets' intercept and slope, weighted by where the cluster's
    curve is measured; at the target its implied compute is off by ``h_j @ u`` with ``h_j`` the
    row of the weighted least-squares extrapolation of ``u`` on ``[1, log x]`` to the target.
    Weights: the binomial information ``acc (1 - acc)`` of the cluster's accuracies, kept in
    ``[0.01, 0.25]`` so that every rung counts a little.

    Returns
    -------
    numpy.ndarray
        ``h``, shape ``(len(clusters), n_rung)``; rows sum to 1.
    """
    n_rung = len(data.rungs)
    w = np.zeros((data.n_clusters, n_rung))
    acc = data.obs_y / data.obs_n
    w[data.obs_cluster, data.obs_rung] = np.clip(acc * (1 - acc), 0.01, 0.25)
    w = w[clusters]
    design = np.column_stack([np.ones(n_rung), data.log_x])  # (n_rung, 2)
    xtw = design.T[None, :, :] * w[:, None, :]  # (n, 2, n_rung)
    gram = xtw @ design  # (n, 2, 2)
    point = np.array([1.0, log_x_target])
    return np.einsum("k,nkl,nlr->nr", point, np.linalg.inv(gram), xtw)


def extrapolatable_probability(
    post: Mapping[str, np.ndarray],
    data: FitData,
    *,
    a_min: float = 1.0,
    b_min: float = 0.1,
    c_max: float = 1.0,
) -> np.ndarray:
    """Posterior probability that each cluster passes the paper's filter.

    ``a`` is converted to each benchmark's own compute unit before the comparison
    (``a_k = a (unit_k / unit)^(-b)``).

    Returns
    -------
    numpy.ndarray
        ``P(a > a_min, b > b_min, 0 <= c < c_max | data)``, shape ``(n_clusters,)``.
    """
    ratio = data.bench_unit[data.cluster_bench] / data.compute_unit
    a = post["a"] * ratio ** (-post["b"])
    ok = (a > a_min) & (post["b"] > b_min) & (post["c"] >= 0) & (post["c"] < c_max)
    return ok.mean(axis=0)


def cluster_table(post: Mapping[str, np.ndarray], data: FitData) -> pd.DataFrame:
    """Posterior medians of the cluster parameters, one row per law cluster."""
    frame = pd.DataFrame(
        {
            "benchmark": [data.benchmarks[k] for k in data.cluster_bench],
            "label": data.cluster_label,
            "size": data.size,
            "in_subset": data.in_subset,
        }
    )
    for v in ("g", "a", "b", "c", "kappa_items"):
        frame[v] = np.median(post[v], axis=0)
    return frame
