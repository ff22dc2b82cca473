"""Steps 1-4 of COD for one benchmark, as data: clusters, their ladder curves, fits and classes.

:class:`ClusteredBenchmark` is the contract between the deterministic pipeline
(features -> clusters -> per-cluster point fits -> predictable subset) and every consumer: the
point method, the hierarchical Bayesian model and the plots.  It is built by
:func:`codbayes.methods.cod_point.analyse_benchmark`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: label of items every ladder model fails on every attempt (removed before clustering)
ALL_ZERO = -2
#: label of items MeanShift left unclustered
OUTLIER = -1

CLUSTER_CLASSES = ("extrapolatable", "non-emergent", "non-extrapolatable")


@dataclass(frozen=True, eq=False)
class ClusteredBenchmark:
    """One benchmark after clustering and per-cluster fits.

    Attributes
    ----------
    benchmark : str
        Benchmark name.
    items : pandas.Index
        All items of the benchmark (including all-zero items and outliers).
    labels : numpy.ndarray
        Cluster label per item (``>= 0``), :data:`OUTLIER` or :data:`ALL_ZERO`;
        shape ``(n_items,)``.
    models : list of str
        Models the cluster curves are given for: ladder models then anchors, by compute.
    compute : numpy.ndarray
        Training FLOPs of ``models``.
    is_ladder : numpy.ndarray
        Boolean, which of ``models`` are ladder rungs (the others are anchors).
    compute_unit : float
        Compute used to rescale, ``x = compute / compute_unit`` (the smallest rung's FLOPs).
    clusters : pandas.DataFrame
        One row per cluster (index = label, ascending): ``size``, ``g``, ``a``, ``b``, ``c`` (point
        fit), ``rmse`` (fit residual), ``cls`` (one of :data:`CLUSTER_CLASSES`) and boolean
        ``extrapolatable``.
    accuracy : numpy.ndarray
        Cluster-mean pass rate, shape ``(n_clusters, n_models)``.
    successes, trials : numpy.ndarray
        Summed correct samples and samples per cluster and model (``score * samples`` summed over
        the cluster's items), shape ``(n_clusters, n_models)``; the binomial data of the Bayesian
        model.
    subset_score : numpy.ndarray
        Observed score on the predictable subset (items of extrapolatable clusters), per model.
    full_score : numpy.ndarray
        Observed full-benchmark score (all items), per model.
    guess_rate : float or None
        Benchmark random-guess rate if known.
    fallback : str or None
        ``None`` normally.  When no cluster passed the filter (or clustering left no cluster), the
        pipeline treats all non-all-zero items as one cluster marked extrapolatable and says so
        here (see :func:`codbayes.methods.cod_point.analyse_benchmark`).
    """

    benchmark: str
    items: pd.Index
    labels: np.ndarray
    models: list[str]
    compute: np.ndarray
    is_ladder: np.ndarray
    compute_unit: float
    clusters: pd.DataFrame
    accuracy: np.ndarray
    successes: np.ndarray
    trials: np.ndarray
    subset_score: np.ndarray
    full_score: np.ndarray
    guess_rate: float | None = None
    fallback: str | None = None

    @property
    def x(self) -> np.ndarray:
        """Rescaled compute of ``models``."""
        return self.compute / self.compute_unit

    @property
    def n_items(self) -> int:
        """Number of items in the full benchmark."""
        return int(self.labels.size)

    @property
    def n_clusters(self) -> int:
        """Number of clusters (outliers and all-zero items excluded)."""
        return len(self.clusters)

    @property
    def n_extrapolatable(self) -> int:
        """Number of extrapolatable clusters."""
        return int(self.clusters["extrapolatable"].sum())

    @property
    def subset_fraction(self) -> float:
        """Share of all items that are in the predictable subset."""
        subset = self.clusters.loc[self.clusters["extrapolatable"], "size"].sum()
        return float(subset / self.n_items)

    def info(self) -> dict[str, float]:
        """The cluster fields of the prediction JSON."""
        return {
            "n_items": self.n_items,
            "n_clusters": self.n_clusters,
            "n_extrapolatable": self.n_extrapolatable,
            "subset_fraction": self.subset_fraction,
        }
