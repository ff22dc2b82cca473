"""Deterministic clustering of items on their difficulty features (COD step 2).

The paper's *improved MeanShift* (arXiv 2502.17262; our summary in ``COD.md`` section 2) runs
sklearn's flat-kernel MeanShift repeatedly on the items not yet clustered, drops far members and
dissolves small clusters, until nothing changes.

:class:`ImprovedMeanShift` implements it rule for rule, but fast: plain
:class:`sklearn.cluster.MeanShift` needs minutes per round for the 17,944 x 8 TriviaQA features
(many minutes when every item is a seed, sklearn's default), this implementation seconds for the
whole loop.  The speed comes from the data's structure, not from changing the algorithm:

* **Duplicate feature vectors are merged** into unique points with weights (multiplicities).  The
  flat-kernel mean of a window that holds ``m`` copies of a point equals the weighted mean of the
  unique points, and identical items always end in the same cluster, so the whole improved loop
  runs on unique points.
* **All seeds move at once.**  Each iteration queries a ball tree for the windows of all seeds
  still moving (a sparse radius graph) and computes every window mean with one sparse product.
  Seeds whose positions coincide (same window, hence the same future) are queried once.
* Seeds (``bin_seeding`` grid or every point), convergence (shift <= 1e-3 bandwidth, at most
  ``max_iter`` iterations), merging of modes closer than the bandwidth (the one with more points
  survives) and labelling (nearest mode, ``cluster_all=True``) follow
  :class:`sklearn.cluster.MeanShift`; the test-suite checks partitions, modes and ``n_iter_``
  agree.  Only floating-point rounding differs (a weighted sum instead of ``np.mean``), which can
  matter only for a point at exactly the bandwidth from a mean.

The result is deterministic: no random draws except the bandwidth estimate's subsample, whose
seed is fixed, and it does not depend on the order of the rows.

:class:`KMeansClusterer` is the cheaper alternative the paper compares against (plain KMeans and
"improved KMeans", the same loop with KMeans in step (a)).  :func:`cluster_features` labels all
items of a benchmark, with :data:`~codbayes.subset.ALL_ZERO` and :data:`~codbayes.subset.OUTLIER`
for items outside the clusters.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans, estimate_bandwidth
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data
from threadpoolctl import threadpool_limits

from codbayes.features import DifficultyFeatures
from codbayes.subset import ALL_ZERO, OUTLIER

__all__ = [
    "METHODS",
    "ImprovedMeanShift",
    "KMeansClusterer",
    "cluster_features",
    "cluster_radius",
    "default_n_clusters",
]

#: Step (a) of one round: (points, weights) -> (labels, centres); labels index the centres.
StepA = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

#: rows of radius queries per chunk (bounds the memory of the sparse radius graph)
_QUERY_CHUNK = 2048
#: leaf size of the ball tree of the radius queries (a ball tree is faster than a KD-tree on
#: 8 pass-rate features; either gives the same windows)
_LEAF_SIZE = 20


# ---------------------------------------------------------------------------------------------
# small pure helpers
# ---------------------------------------------------------------------------------------------
def _unique_rows(X: np.ndarray, weights: np.ndarray | None = None):
    """Merge identical rows.

    Returns
    -------
    unique : numpy.ndarray
        The distinct rows, lexicographically sorted.
    inverse : numpy.ndarray
        Index into ``unique`` of every input row.
    weight : numpy.ndarray
        Summed weight (multiplicity if ``weights`` is None) of every distinct row.
    """
    unique, inverse = np.unique(X, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    weight = np.bincount(inverse, weights=weights, minlength=len(unique)).astype(float)
    return unique, inverse, weight


def _bin_seeds(X: np.ndarray, weights: np.ndarray, bin_size: float, min_bin_freq: int):
    """Seeds on a grid of spacing ``bin_size``, as :func:`sklearn.cluster.get_bin_seeds`.

    ``X`` are unique points with multiplicities ``weights``; a bin's frequency is its summed
    weight.  As in sklearn, bins are ``round(x / bin_size)``, seeds are float32 grid points, and
    when every point falls in its own bin the points themselves are the seeds.
    """
    if bin_size == 0:
        return X
    bins, inverse = np.unique(np.round(X / bin_size), axis=0, return_inverse=True)
    freq = np.bincount(inverse.reshape(-1), weights=weights, minlength=len(bins))
    bins = bins[freq >= min_bin_freq]
    if len(bins) == weights.sum():
        return X
    return (bins.astype(np.float32) * np.float32(bin_size)).astype(float)


def _window_sums(
    nbrs: NearestNeighbors, Q: np.ndarray, radius: float, wX: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Summed weight and weighted coordinate sum of the points within ``radius`` of each query."""
    counts = np.empty(len(Q))
    sums = np.empty((len(Q), wX.shape[1]))
    for start in range(0, len(Q), _QUERY_CHUNK):
        stop = start + _QUERY_CHUNK
        # the tree lists a window's points in tree order, so equal windows give equal sums
        graph = nbrs.radius_neighbors_graph(Q[start:stop], radius, mode="connectivity")
        counts[start:stop] = graph @ w
        sums[start:stop] = graph @ wX
    return counts, sums


def _merge_modes(modes: np.ndarray, intensity: np.ndarray, bandwidth: float) -> np.ndarray:
    """Greedy merge of modes closer than ``bandwidth``, as in :class:`sklearn.cluster.MeanShift`.

    Modes are visited by decreasing intensity (ties: decreasing lexicographic position); each
    surviving mode removes every other mode within the bandwidth.  Returns the survivors.
    """
    # one entry per distinct mode (sklearn keys a dict by the mode's coordinates)
    modes, first = np.unique(modes, axis=0, return_index=True)
    intensity = intensity[first]
    keys = [*(modes[:, j] for j in range(modes.shape[1] - 1, -1, -1)), intensity]
    modes = modes[np.lexsort(keys)[::-1]]  # lexsort: last key is the primary one
    nbrs = NearestNeighbors(radius=bandwidth).fit(modes)
    neighbours = nbrs.radius_neighbors(modes, bandwidth, return_distance=False)
    keep = np.ones(len(modes), dtype=bool)
    for i, idx in enumerate(neighbours):
        if keep[i]:
            keep[idx] = False
            keep[i] = True
    return modes[keep]


def _mean_shift(
    X: np.ndarray,
    bandwidth: float,
    weights: np.ndarray | None = None,
    *,
    bin_seeding: bool = True,
    min_bin_freq: int = 1,
    max_iter: int = 300,
    n_jobs: int | None = None,
    return_n_iter: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, int]:
    """Flat-kernel mean shift of weighted points; :class:`sklearn.cluster.MeanShift` semantics.

    Equivalent to ``MeanShift(bandwidth=bandwidth, bin_seeding=bin_seeding,
    min_bin_freq=min_bin_freq, max_iter=max_iter, cluster_all=True)`` fitted on ``X`` with every
    row repeated ``weights`` times (same partition; centres agree to rounding).

    Parameters
    ----------
    X : numpy.ndarray
        Points, shape ``(n, d)``.
    bandwidth : float
        Radius of the flat kernel (points at distance ``<= bandwidth`` are inside).
    weights : numpy.ndarray, optional
        Multiplicity of every row (default 1).
    bin_seeding : bool, default True
        Seed on a grid of spacing ``bandwidth`` (sklearn's ``bin_seeding``); else every distinct
        point is a seed.
    min_bin_freq : int, default 1
        Fewest (weighted) points a bin needs to give a seed.
    max_iter : int, default 300
        Most iterations per seed.
    n_jobs : int, optional
        Threads for the radius queries (results do not depend on it).
    return_n_iter : bool, default False
        Also return the largest number of iterations of a seed (sklearn's ``n_iter_``).

    Returns
    -------
    labels : numpy.ndarray
        Index of the nearest mode of every row of ``X``; all ``-1`` if no seed had a point
        within the bandwidth (sklearn raises then).
    centers : numpy.ndarray
        The modes, shape ``(n_clusters, d)``, by decreasing intensity.
    n_iter : int
        Only if ``return_n_iter``.
    """
    X = np.asarray(X, dtype=float)
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=float)
    points, inverse, w = _unique_rows(X, w)
    if bin_seeding:
        seeds = _bin_seeds(points, w, bandwidth, min_bin_freq)
    else:
        seeds = points
    nbrs = NearestNeighbors(
        radius=bandwidth, algorithm="ball_tree", leaf_size=_LEAF_SIZE, n_jobs=n_jobs
    ).fit(points)
    wX = points * w[:, None]
    stop_thresh = 1e-3 * bandwidth

    pos = np.array(seeds, dtype=float)
    modes = np.full_like(pos, np.nan)
    intensity = np.zeros(len(pos))
    moving = np.arange(len(pos))
    n_iter = 0
    while moving.size:
        queries, back = np.unique(pos[moving], axis=0, return_inverse=True)
        counts, sums = _window_sums(nbrs, queries, bandwidth, wX, w)
        counts, sums = counts[back.reshape(-1)], sums[back.reshape(-1)]
        empty = counts == 0  # nothing in the window: the seed is dropped (as in sklearn)
        new = sums[~empty] / counts[~empty, None]
        moving = moving[~empty]
        done = np.linalg.norm(new - pos[moving], axis=1) <= stop_thresh
        if n_iter == max_iter:
            done[:] = True
        pos[moving] = new
        modes[moving[done]] = new[done]
        intensity[moving[done]] = counts[~empty][done]
        moving = moving[~done]
        n_iter += 1
    found = intensity > 0
    if found.any():
        centers = _merge_modes(modes[found], intensity[found], bandwidth)
        nearest = NearestNeighbors(n_neighbors=1).fit(centers).kneighbors(points)[1][:, 0]
        labels = nearest[inverse]
    else:
        labels, centers = np.full(len(X), -1), np.empty((0, X.shape[1]))
    n_iter = max(n_iter - 1, 0)  # sklearn counts the iterations that did not converge
    return (labels, centers, n_iter) if return_n_iter else (labels, centers)


def cluster_radius(
    X: np.ndarray,
    *,
    quantile: float = 0.1,
    radius_cap: float | None = None,
    bandwidth: float | None = None,
    n_estimate_samples: int | None = 5000,
    random_state: int = 0,
) -> float:
    """The paper's radius ``R = min(estimate_bandwidth(X, quantile), U)``.

    Parameters
    ----------
    X : numpy.ndarray
        Features in ``[0, 1]``, shape ``(n, S)``.
    quantile : float, default 0.1
        Quantile of :func:`sklearn.cluster.estimate_bandwidth`.
    radius_cap : float, optional
        ``U``; default ``sqrt(S) / 10``, a tenth of the largest possible distance.
    bandwidth : float, optional
        Use this ``R`` and skip the estimate.
    n_estimate_samples : int or None, default 5000
        Estimate the bandwidth on this many rows drawn with ``random_state`` (it costs
        ``O(n^2)``; all rows if None or if ``n`` is smaller).
    random_state : int, default 0
        Seed of that draw from the rows sorted lexicographically (fixed: the radius, hence the
        clusters, are deterministic and do not depend on the order of the rows).

    Returns
    -------
    float
    """
    if bandwidth is not None:
        return float(bandwidth)
    cap = math.sqrt(X.shape[1]) / 10 if radius_cap is None else float(radius_cap)
    n_samples = (
        None
        if n_estimate_samples is None or len(X) <= n_estimate_samples
        else (int(n_estimate_samples))
    )
    if n_samples is not None:
        X = X[np.lexsort(X.T[::-1])]  # the draw then does not depend on the order of the rows
    estimate = estimate_bandwidth(
        X, quantile=quantile, n_samples=n_samples, random_state=random_state
    )
    return float(min(estimate, cap))


def _improved_rounds(
    X: np.ndarray,
    weights: np.ndarray,
    radius: float,
    step_a: StepA,
    *,
    min_cluster_size: int,
    max_rounds: int,
    drop_far: bool = True,
    progress: bool = False,
    name: str = "cluster",
) -> tuple[np.ndarray, np.ndarray, int]:
    """The improved loop of COD section 2 on weighted unique points.

    Repeat until no label changes: (a) ``step_a`` clusters the points still at -1; (b) members
    farther than ``radius`` from their centre go back to -1 (if ``drop_far``); (c) clusters
    weighing less than ``min_cluster_size`` are dissolved; (d) surviving clusters get fresh labels.

    Returns
    -------
    labels : numpy.ndarray
        Per point, index into ``centers`` or -1.
    centers : numpy.ndarray
        Centre of every cluster, in order of creation.
    n_rounds : int
        Rounds of step (a) run.
    """
    labels = np.full(len(X), -1)
    centers: list[np.ndarray] = []
    n_rounds = 0
    while n_rounds < max_rounds:
        todo = np.flatnonzero(labels == -1)
        if weights[todo].sum() < min_cluster_size:  # no cluster could survive step (c)
            break
        n_rounds += 1
        new, cen = step_a(X[todo], weights[todo])
        if len(cen) == 0:
            break
        if drop_far:
            far = np.linalg.norm(X[todo] - cen[new], axis=1) > radius
            new = np.where(far | (new < 0), -1, new)
        size = np.bincount(new[new >= 0], weights=weights[todo][new >= 0], minlength=len(cen))
        survivors = np.flatnonzero(size >= min_cluster_size)
        if survivors.size == 0:
            if progress:
                print(f"{name} round {n_rounds}: no new cluster, stop", file=sys.stderr)
            break
        fresh = np.full(len(cen), -1)
        fresh[survivors] = len(centers) + np.arange(survivors.size)
        labels[todo] = np.where(new >= 0, fresh[np.maximum(new, 0)], -1)
        centers.extend(cen[survivors])
        if progress:
            left = weights[labels == -1].sum()
            print(
                f"{name} round {n_rounds}: +{survivors.size} clusters "
                f"({len(centers)} total), {left:.0f} items unclustered",
                file=sys.stderr,
            )
    return labels, np.array(centers).reshape(len(centers), X.shape[1]), n_rounds


def _relabel(labels: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number clusters 0..k-1 by decreasing mean of the centre (easiest first).

    Ties are broken by the centre's coordinates, first rung first, descending.
    """
    if len(centers) == 0:
        return labels, centers
    keys = [*(-centers[:, j] for j in range(centers.shape[1] - 1, -1, -1)), -centers.mean(axis=1)]
    order = np.lexsort(keys)  # the last key is the primary one
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.arange(len(order))
    return np.where(labels >= 0, rank[np.maximum(labels, 0)], -1), centers[order]


class _ImprovedClusterer(ClusterMixin, BaseEstimator):
    """Shared fit: validation, deduplication, radius, the improved loop, relabelling."""

    _name = "cluster"

    def _step_a(self, radius: float) -> StepA:  # pragma: no cover - abstract
        raise NotImplementedError

    def _drop_far(self) -> bool:
        return True

    def _rounds(self) -> int:
        return self.max_rounds

    def fit(self, X, y=None):
        """Cluster the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_items, n_features)
            Difficulty features.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64)
        points, inverse, weights = _unique_rows(X)
        self.radius_ = np.nan
        if self._drop_far():
            self.radius_ = cluster_radius(
                X,
                quantile=self.quantile,
                radius_cap=self.radius_cap,
                bandwidth=self.bandwidth,
                n_estimate_samples=self.n_estimate_samples,
            )
        labels, centers, self.n_rounds_ = _improved_rounds(
            points,
            weights,
            self.radius_,
            self._step_a(self.radius_),
            min_cluster_size=self.min_cluster_size,
            max_rounds=self._rounds(),
            drop_far=self._drop_far(),
            progress=self.progress,
            name=self._name,
        )
        labels, self.cluster_centers_ = _relabel(labels, centers)
        self.labels_ = labels[inverse]
        self.n_clusters_ = len(self.cluster_centers_)
        return self


_COMMON_PARAMS = {
    "quantile": [Interval(Real, 0, 1, closed="right")],
    "radius_cap": [Interval(Real, 0, None, closed="neither"), None],
    "bandwidth": [Interval(Real, 0, None, closed="left"), None],
    "min_cluster_size": [Interval(Integral, 1, None, closed="left")],
    "max_rounds": [Interval(Integral, 1, None, closed="left")],
    "n_estimate_samples": [Interval(Integral, 1, None, closed="left"), None],
    "progress": ["boolean"],
}


class ImprovedMeanShift(_ImprovedClusterer):
    """The paper's improved MeanShift (COD section 2), deterministic and fast.

    ``R = min(estimate_bandwidth(X, quantile), radius_cap)``; all labels start at -1; repeat
    until no label changes: (a) flat-kernel MeanShift with bandwidth ``R`` on the items still at
    -1 (sklearn semantics, ``cluster_all=True``); (b) new members farther than ``R`` from their
    mode go back to -1; (c) new clusters with fewer than ``min_cluster_size`` items are dissolved;
    (d) survivors get labels that never collide with earlier ones.  Items left at -1 are outliers.

    Parameters
    ----------
    quantile : float, default 0.1
        Quantile for :func:`sklearn.cluster.estimate_bandwidth`.
    radius_cap : float, optional
        ``U``; default ``sqrt(n_features) / 10`` (a tenth of the largest distance in the unit cube).
    bandwidth : float, optional
        Fix ``R`` instead of estimating it.
    min_cluster_size : int, default 10
        ``K``: smallest cluster kept.
    max_rounds : int, default 100
        Most rounds of the loop.
    bin_seeding : bool, default True
        Seed MeanShift on a grid of spacing ``R`` (sklearn's ``bin_seeding``).  ``False`` seeds at
        every distinct item (sklearn's default, about 7x slower at paper scale).
    min_bin_freq : int, default 1
        Fewest items in a grid bin for it to give a seed.
    max_iter : int, default 300
        Most mean-shift iterations per seed.
    n_estimate_samples : int or None, default 5000
        Rows (drawn with a fixed seed) used by ``estimate_bandwidth``; None: all rows.
    n_jobs : int, optional
        Threads for the radius queries (the result does not depend on it).
    progress : bool, default False
        Report every round on stderr.

    Attributes
    ----------
    labels_ : numpy.ndarray
        Cluster of every item, ``-1`` for outliers.  Clusters are numbered ``0..n_clusters_-1``
        by decreasing mean pass rate of their centre (easiest first; ties by the centre's
        coordinates).
    cluster_centers_ : numpy.ndarray
        Mode of every cluster, shape ``(n_clusters_, n_features)``.
    radius_ : float
        ``R``.
    n_rounds_ : int
        Rounds of step (a) run.
    n_clusters_ : int
        Number of clusters.
    n_iter_ : int
        Most mean-shift iterations of a seed, over all rounds (as sklearn's ``n_iter_``).
    """

    _name = "meanshift"
    _parameter_constraints = {  # noqa: RUF012 - sklearn's convention
        **_COMMON_PARAMS,
        "bin_seeding": ["boolean"],
        "min_bin_freq": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        quantile: float = 0.1,
        radius_cap: float | None = None,
        bandwidth: float | None = None,
        min_cluster_size: int = 10,
        max_rounds: int = 100,
        bin_seeding: bool = True,
        min_bin_freq: int = 1,
        max_iter: int = 300,
        n_estimate_samples: int | None = 5000,
        n_jobs: int | None = None,
        progress: bool = False,
    ) -> None:
        self.quantile = quantile
        self.radius_cap = radius_cap
        self.bandwidth = bandwidth
        self.min_cluster_size = min_cluster_size
        self.max_rounds = max_rounds
        self.bin_seeding = bin_seeding
        self.min_bin_freq = min_bin_freq
        self.max_iter = max_iter
        self.n_estimate_samples = n_estimate_samples
        self.n_jobs = n_jobs
        self.progress = progress

    def _step_a(self, radius: float) -> StepA:
        self.n_iter_ = 0

        def step(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            labels, centers, n_iter = _mean_shift(
                X,
                radius,
                w,
                bin_seeding=self.bin_seeding,
                min_bin_freq=self.min_bin_freq,
                max_iter=self.max_iter,
                n_jobs=self.n_jobs,
                return_n_iter=True,
            )
            self.n_iter_ = max(self.n_iter_, n_iter)
            return labels, centers

        return step


def default_n_clusters(n_items: float, min_cluster_size: int = 10) -> int:
    """Number of KMeans clusters when none is given: ``round(sqrt(n_items / 2))``.

    The usual rule of thumb, bounded to ``[1, n_items // min_cluster_size]`` so that an average
    cluster can reach the minimum size (17,944 items: 95 clusters of about 190 items).
    """
    k = round(math.sqrt(n_items / 2))
    return int(max(1, min(k, n_items // min_cluster_size)))


class KMeansClusterer(_ImprovedClusterer):
    """KMeans on difficulty features, plain or "improved" (the paper's two KMeans baselines).

    Plain (``improved=False``): one KMeans; items of clusters with fewer than
    ``min_cluster_size`` items become outliers (-1).  Improved: the loop of
    :class:`ImprovedMeanShift` with KMeans in step (a) (on the items still at -1, with
    ``n_clusters`` re-derived from their number when None) and the same radius rule in step (b).

    Parameters
    ----------
    n_clusters : int, optional
        Clusters per KMeans run; default :func:`default_n_clusters` of the items clustered.
    random_state : int, default 0
        Seed of KMeans (fixed: deterministic).
    min_cluster_size : int, default 10
        Smallest cluster kept.
    improved : bool, default False
        Run the improved loop (steps (b)-(d), repeated).
    n_init : int, default 1
        KMeans restarts.
    quantile, radius_cap, bandwidth, max_rounds, n_estimate_samples, progress
        As in :class:`ImprovedMeanShift` (the radius is only used when ``improved``).

    Attributes
    ----------
    labels_, cluster_centers_, radius_, n_rounds_, n_clusters_
        As in :class:`ImprovedMeanShift`; centres are KMeans centroids; ``radius_`` is NaN
        unless ``improved``.

    Notes
    -----
    KMeans runs on one thread so that its result does not depend on the machine.
    """

    _name = "kmeans"
    _parameter_constraints = {  # noqa: RUF012 - sklearn's convention
        **_COMMON_PARAMS,
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "improved": ["boolean"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters: int | None = None,
        *,
        random_state: int = 0,
        min_cluster_size: int = 10,
        improved: bool = False,
        n_init: int = 1,
        quantile: float = 0.1,
        radius_cap: float | None = None,
        bandwidth: float | None = None,
        max_rounds: int = 100,
        n_estimate_samples: int | None = 5000,
        progress: bool = False,
    ) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.min_cluster_size = min_cluster_size
        self.improved = improved
        self.n_init = n_init
        self.quantile = quantile
        self.radius_cap = radius_cap
        self.bandwidth = bandwidth
        self.max_rounds = max_rounds
        self.n_estimate_samples = n_estimate_samples
        self.progress = progress

    def _drop_far(self) -> bool:
        return self.improved

    def _rounds(self) -> int:
        return self.max_rounds if self.improved else 1

    def _step_a(self, radius: float) -> StepA:
        def step(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            k = self.n_clusters or default_n_clusters(w.sum(), self.min_cluster_size)
            km = KMeans(
                n_clusters=min(k, len(X)), n_init=self.n_init, random_state=self.random_state
            )
            with threadpool_limits(limits=1, user_api="openmp"):  # same result on any machine
                km.fit(X, sample_weight=w)
            return km.labels_, km.cluster_centers_

        return step


#: clustering methods of :func:`cluster_features`
METHODS = ("meanshift", "kmeans", "improved-kmeans")


def cluster_features(
    features: DifficultyFeatures,
    method: str = "meanshift",
    *,
    progress: bool = False,
    **params,
) -> np.ndarray:
    """Cluster labels of all items of a benchmark.

    Parameters
    ----------
    features : DifficultyFeatures
        Output of :func:`codbayes.features.difficulty_features`.
    method : {"meanshift", "kmeans", "improved-kmeans"}
        :class:`ImprovedMeanShift` (the paper's choice), plain or improved
        :class:`KMeansClusterer`.
    progress : bool, default False
        Report every round on stderr.
    **params
        Passed to the estimator.

    Returns
    -------
    numpy.ndarray
        Integer label per item of ``features.items``: ``>= 0`` cluster,
        :data:`~codbayes.subset.OUTLIER` (-1) for outliers and for items with a missing ladder
        cell, :data:`~codbayes.subset.ALL_ZERO` (-2) for all-zero items.  Deterministic.
    """
    if method == "meanshift":
        estimator = ImprovedMeanShift(progress=progress, **params)
    elif method in ("kmeans", "improved-kmeans"):
        estimator = KMeansClusterer(
            improved=method == "improved-kmeans", progress=progress, **params
        )
    else:
        raise ValueError(f"unknown clustering method {method!r}; use one of {METHODS}")
    labels = np.full(features.n_items, OUTLIER, dtype=int)
    labels[features.all_zero] = ALL_ZERO
    if features.X.shape[0]:
        labels[features.kept] = estimator.fit(features.X).labels_
    return labels
