"""COD as published, as a point method (``--method cod-point``).

Per benchmark (:func:`analyse_benchmark`):

1. difficulty features of the items on the **ladder** models (:mod:`codbayes.features`);
2. deterministic clustering (:mod:`codbayes.cluster`), labels over all items;
3. per-cluster curves for ladder models and anchors: accuracy = cluster-mean pass rate,
   successes = summed ``score * samples``, trials = summed samples;
4. point fits of the COD law on the ladder rungs and the paper's filter
   (:mod:`codbayes.scaling`);
5. observed predictable-subset and full scores of every model (ladder and anchors).

:class:`CODPoint` then fits the subset-to-full mapping (:mod:`codbayes.mapping`) on those score
pairs and predicts ``f(size-weighted mean of the extrapolatable clusters' y(C_target))``.

Fallbacks (never crash on small or degenerate benchmarks):

* **No extrapolatable cluster** -- no cluster passed the filter, or clustering left no cluster at
  all (e.g. 164 HumanEval items with 0/1 greedy results, where MeanShift's minimum cluster size
  dissolves everything): all items that are neither all-zero nor missing (clusters and outliers)
  become one cluster (label 0), its law is fitted and it is marked extrapolatable whatever its
  parameters, and ``ClusteredBenchmark.fallback`` says why.  The prediction is then an end-to-end
  fit on the emerged items, mapped to the full set (which only adds the all-zero items).
* **No emerged item at all** (every ladder model fails every item): no cluster, empty subset; the
  point prediction is the top rung's observed full score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from codbayes.data.ladder import Ladder
from codbayes.mapping import SubsetMapping
from codbayes.methods.base import Predictor, as_flops
from codbayes.prediction import Prediction
from codbayes.scaling import FilterThresholds, fit_clusters
from codbayes.subset import ALL_ZERO, ClusteredBenchmark

__all__ = ["CODPoint", "analyse_benchmark", "cluster_curves", "subset_prediction"]

FALLBACK_NO_CLUSTER = "single-cluster: clustering left no cluster"
FALLBACK_NO_EXTRAPOLATABLE = "single-cluster: no cluster passed the filter"


def _thresholds(value: FilterThresholds | Mapping[str, float] | None) -> FilterThresholds:
    if value is None:
        return FilterThresholds()
    if isinstance(value, FilterThresholds):
        return value
    return FilterThresholds(**dict(value))


def cluster_curves(
    labels: np.ndarray, scores: np.ndarray, samples: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-cluster curves from item-level results.

    Parameters
    ----------
    labels : numpy.ndarray
        Label per item, ``(n_items,)``; only labels ``>= 0`` form clusters.
    scores : numpy.ndarray
        Pass rates, ``(n_items, n_models)``, NaN where not evaluated.
    samples : numpy.ndarray
        Samples behind each pass rate, same shape.

    Returns
    -------
    cluster_labels, size, accuracy, successes, trials : numpy.ndarray
        Sorted cluster labels ``(K,)``, items per cluster ``(K,)``, cluster-mean pass rate (NaN
        where no item of the cluster was evaluated), summed correct samples and summed samples,
        each ``(K, n_models)``.
    """
    labels = np.asarray(labels)
    uniq = np.unique(labels[labels >= 0])
    member = (labels[None, :] == uniq[:, None]).astype(float)  # (K, n_items)
    seen = np.isfinite(scores)
    p = np.where(seen, scores, 0.0)
    n = np.where(seen, samples, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = (member @ p) / (member @ seen.astype(float))
    successes = np.rint(member @ (p * n)).astype(np.int64)
    trials = np.rint(member @ n).astype(np.int64)
    return uniq, member.sum(1).astype(np.int64), accuracy, successes, trials


def _item_mean(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean pass rate per model over the items in ``mask`` (NaN-aware; NaN if none)."""
    sub = scores[mask]
    seen = np.isfinite(sub)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen, sub, 0.0).sum(0) / seen.sum(0)


def analyse_benchmark(
    ladder: Ladder,
    benchmark: str,
    *,
    cluster_method: str = "meanshift",
    cluster_params: Mapping[str, Any] | None = None,
    smoothing: Any = None,
    thresholds: FilterThresholds | Mapping[str, float] | None = None,
    fit_params: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> ClusteredBenchmark:
    """COD steps 1-4 for one benchmark.

    Parameters
    ----------
    ladder : Ladder
        Evaluations; clustering and law fits use the ``ladder`` models only, the anchors get
        cluster curves and subset / full scores (for the mapping).
    benchmark : str
        Benchmark name.
    cluster_method : {"meanshift", "kmeans"}, default "meanshift"
        Clustering method of :func:`codbayes.cluster.cluster_features`.
    cluster_params : Mapping, optional
        Extra parameters of the clustering method.
    smoothing : optional
        Feature smoothing across rungs (:func:`codbayes.features.difficulty_features`).
    thresholds : FilterThresholds or Mapping, optional
        Filter thresholds (default: the paper's).
    fit_params : Mapping, optional
        Extra parameters of :func:`codbayes.scaling.fit_laws` (e.g. ``n_starts``, ``loss``).
    progress : bool, default False
        Progress bar over the law fits.

    Returns
    -------
    ClusteredBenchmark
        See the module docstring for the fallbacks.
    """
    from codbayes.cluster import cluster_features
    from codbayes.features import difficulty_features

    thresholds = _thresholds(thresholds)
    features = difficulty_features(ladder, benchmark, smoothing=smoothing)
    labels = np.asarray(
        cluster_features(features, method=cluster_method, **dict(cluster_params or {}))
    ).copy()

    present = set(ladder.pass_rates(benchmark, ladder.models.index).columns)
    rungs = [m for m in ladder.ladder_models if m in present]
    anchors = [m for m in ladder.anchor_models if m in present]
    models = rungs + anchors
    scores = ladder.pass_rates(benchmark, models)[models].reindex(features.items)
    samples = ladder.samples(benchmark, models)[models].reindex(features.items).fillna(0)
    p, n = scores.to_numpy(dtype=float), samples.to_numpy(dtype=float)
    compute = ladder.compute.reindex(models).to_numpy(dtype=float)
    is_ladder = np.array([m in set(rungs) for m in models], dtype=bool)
    compute_unit = float(ladder.compute[ladder.ladder_models].min())
    guess = ladder.guess_rate(benchmark)

    def fit(labels: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        uniq, size, acc, succ, trials = cluster_curves(labels, p, n)
        frame = fit_clusters(
            compute[is_ladder] / compute_unit,
            acc[:, is_ladder],
            guess=guess,
            weights=trials[:, is_ladder],
            thresholds=thresholds,
            progress=progress,
            **dict(fit_params or {}),
        )
        frame.index = pd.Index(uniq, name="label")
        frame.insert(0, "size", size)
        return frame, acc, succ, trials

    clusters, accuracy, successes, trials = fit(labels)
    fallback = None
    emerged = (labels != ALL_ZERO) & ~np.asarray(features.missing, dtype=bool)
    if not clusters["extrapolatable"].any() and emerged.any():
        fallback = FALLBACK_NO_EXTRAPOLATABLE if len(clusters) else FALLBACK_NO_CLUSTER
        labels = np.where(emerged, 0, labels)
        labels = np.where(~emerged & (labels >= 0), -1, labels)
        clusters, accuracy, successes, trials = fit(labels)
        clusters["cls"] = "extrapolatable"
        clusters["extrapolatable"] = True

    extrap = clusters.index[clusters["extrapolatable"].to_numpy(dtype=bool)]
    in_subset = np.isin(labels, extrap.to_numpy())
    return ClusteredBenchmark(
        benchmark=benchmark,
        items=features.items,
        labels=labels,
        models=models,
        compute=compute,
        is_ladder=is_ladder,
        compute_unit=compute_unit,
        clusters=clusters,
        accuracy=accuracy,
        successes=successes,
        trials=trials,
        subset_score=_item_mean(p, in_subset),
        full_score=_item_mean(p, np.ones(len(labels), dtype=bool)),
        guess_rate=guess,
        fallback=fallback,
    )


def subset_prediction(clustered: ClusteredBenchmark, target_flops: np.ndarray) -> np.ndarray:
    """Size-weighted mean of the extrapolatable clusters' laws at ``target_flops`` (FLOPs).

    Returns NaN per target if the benchmark has no extrapolatable cluster.
    """
    x = np.atleast_1d(np.asarray(target_flops, dtype=float)) / clustered.compute_unit
    table = clustered.clusters[clustered.clusters["extrapolatable"].to_numpy(dtype=bool)]
    if table.empty:
        return np.full(x.shape, np.nan)
    from codbayes.laws import cod_law

    cols = [table[k].to_numpy(dtype=float)[:, None] for k in ("g", "a", "b", "c")]
    y = cod_law(x[None, :], *cols)  # (K, n_targets)
    size = table["size"].to_numpy(dtype=float)
    return size @ y / size.sum()


class CODPoint(Predictor):
    """The published COD pipeline with point fits.

    Parameters
    ----------
    cluster_method : {"meanshift", "kmeans"}, default "meanshift"
        Clustering method.
    cluster_params : Mapping, optional
        Extra parameters of the clustering method.
    smoothing : optional
        Feature smoothing across rungs (see :mod:`codbayes.features`).
    thresholds : FilterThresholds or Mapping, optional
        Filter thresholds (default: the paper's ``a > 1, b > 0.1, 0 <= c < 1``).
    mapping_tolerance : float, default 0.005
        RMSE tolerance of the subset-to-full smoothing spline.
    use_mapping : bool, default True
        Map the subset prediction to the full benchmark (``False``: "COD without mapping", the
        subset prediction is returned as is).
    progressbar : bool, default False
        Progress bar over benchmarks.

    Attributes
    ----------
    ladder_ : Ladder
        The ladder it was fitted on.
    clustered_ : dict of str to ClusteredBenchmark
        Steps 1-4 per benchmark.
    mappings_ : dict of str to SubsetMapping
        Fitted subset-to-full mapping per benchmark.
    """

    name = "cod-point"

    def __init__(
        self,
        cluster_method: str = "meanshift",
        cluster_params: Mapping[str, Any] | None = None,
        smoothing: Any = None,
        thresholds: FilterThresholds | Mapping[str, float] | None = None,
        mapping_tolerance: float = 0.005,
        use_mapping: bool = True,
        progressbar: bool = False,
    ) -> None:
        self.cluster_method = cluster_method
        self.cluster_params = cluster_params
        self.smoothing = smoothing
        self.thresholds = thresholds
        self.mapping_tolerance = mapping_tolerance
        self.use_mapping = use_mapping
        self.progressbar = progressbar

    def fit(self, ladder: Ladder) -> Self:
        """Cluster, fit and filter every benchmark and fit the mappings; returns ``self``."""
        clustered: dict[str, ClusteredBenchmark] = {}
        mappings: dict[str, SubsetMapping] = {}
        for bench in tqdm(ladder.benchmark_names, disable=not self.progressbar, desc="cod-point"):
            cb = analyse_benchmark(
                ladder,
                bench,
                cluster_method=self.cluster_method,
                cluster_params=self.cluster_params,
                smoothing=self.smoothing,
                thresholds=self.thresholds,
            )
            clustered[bench] = cb
            mappings[bench] = SubsetMapping(tolerance=self.mapping_tolerance).fit(
                cb.subset_score, cb.full_score
            )
        self.clustered_, self.mappings_ = clustered, mappings
        self.ladder_ = ladder
        return self

    def predict_subset(self, target_flops: float | Sequence[float] | np.ndarray) -> dict:
        """Predicted predictable-subset score per benchmark (before the mapping)."""
        self._check_fitted()
        flops = as_flops(target_flops)
        return {b: subset_prediction(cb, flops) for b, cb in self.clustered_.items()}

    def predict(self, target_flops: float | Sequence[float] | np.ndarray) -> Prediction:
        """Point prediction of every benchmark's full score at ``target_flops``."""
        self._check_fitted()
        flops = as_flops(target_flops)
        points, info = {}, {}
        for bench, subset in self.predict_subset(flops).items():
            cb = self.clustered_[bench]
            if np.all(np.isnan(subset)):  # no emerged item: the top rung's observed score
                top = np.flatnonzero(cb.is_ladder)[-1]
                points[bench] = np.full(flops.shape, cb.full_score[top])
            elif self.use_mapping:
                points[bench] = self.mappings_[bench](subset)
            else:
                points[bench] = subset
            info[bench] = cb.info()
        return Prediction.from_points(self.name, flops, points, info=info)
