"""Clustering on difficulty: fast MeanShift, the improved loop, KMeans, labels of all items."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.cluster import MeanShift, estimate_bandwidth
from sklearn.metrics import adjusted_rand_score, homogeneity_score

from codbayes.cluster import (
    ImprovedMeanShift,
    KMeansClusterer,
    _mean_shift,
    cluster_features,
    cluster_radius,
    default_n_clusters,
)
from codbayes.features import DifficultyFeatures
from codbayes.subset import ALL_ZERO, OUTLIER

LOGC = np.linspace(0.0, 3.5, 8)  # log10 compute of 8 rungs relative to the smallest


def _profiles(midpoints, n_per, *, samples=100, slope=3.0, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Pass rates of items whose logistic difficulty curves sit at ``midpoints``, with truth."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(midpoints)), n_per)
    mid = np.asarray(midpoints, dtype=float)[truth] + rng.normal(0, 0.08, truth.size)
    p = 1 / (1 + np.exp(-slope * (LOGC[None, :] - mid[:, None])))
    return rng.binomial(samples, p) / samples, truth


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labelings are equal up to renaming the labels."""
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def _blobs(n: int, seed: int, dim: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.random((5, dim))
    return centres[rng.integers(0, 5, n)] + rng.normal(0, 0.06, (n, dim))


# --------------------------------------------------------------------------- inner MeanShift
@pytest.mark.parametrize(
    ("n", "seed", "bin_seeding"), [(300, 0, True), (300, 0, False), (1000, 1, True)]
)
def test_mean_shift_equals_sklearn(n: int, seed: int, bin_seeding: bool) -> None:
    X = _blobs(n, seed)
    bw = 0.8 * estimate_bandwidth(X, quantile=0.1)
    ref = MeanShift(bandwidth=bw, bin_seeding=bin_seeding).fit(X)
    labels, centers, n_iter = _mean_shift(X, bw, bin_seeding=bin_seeding, return_n_iter=True)
    assert _same_partition(labels, ref.labels_)
    assert len(centers) == len(ref.cluster_centers_)
    assert n_iter == ref.n_iter_
    # same modes in the same order (by decreasing intensity)
    assert np.allclose(centers, ref.cluster_centers_, atol=1e-10)


def test_mean_shift_weights_equal_repeated_rows() -> None:
    rng = np.random.default_rng(5)
    unique = _blobs(250, 2)
    counts = rng.integers(1, 5, len(unique))
    repeated = np.repeat(unique, counts, axis=0)
    bw = estimate_bandwidth(repeated, quantile=0.1)
    ref = MeanShift(bandwidth=bw, bin_seeding=True).fit(repeated)
    labels, centers = _mean_shift(unique, bw, weights=counts, bin_seeding=True)
    assert _same_partition(np.repeat(labels, counts), ref.labels_)
    assert np.allclose(centers, ref.cluster_centers_, atol=1e-10)
    # duplicates passed as rows give the same result as weights
    labels_rows, centers_rows = _mean_shift(repeated, bw, bin_seeding=True)
    assert np.array_equal(labels_rows, np.repeat(labels, counts))
    assert np.allclose(centers_rows, centers, atol=1e-12)


def test_mean_shift_on_pass_rates_equals_sklearn() -> None:
    X, _ = _profiles([0.5, 1.5, 2.5], 200, samples=20, seed=4)
    bw = 0.9 * estimate_bandwidth(X, quantile=0.1) + 1e-7  # off the grid of pass-rate distances
    ref = MeanShift(bandwidth=bw, bin_seeding=True).fit(X)
    labels, centers = _mean_shift(X, bw, bin_seeding=True)
    assert _same_partition(labels, ref.labels_)
    assert np.allclose(centers, ref.cluster_centers_, atol=1e-10)


# --------------------------------------------------------------------------- radius
def test_radius_is_min_of_bandwidth_estimate_and_cap() -> None:
    X, _ = _profiles([0.5, 2.0], 150)
    est = estimate_bandwidth(X, quantile=0.1)
    assert cluster_radius(X, radius_cap=10.0) == pytest.approx(est)
    assert cluster_radius(X, radius_cap=est / 2) == pytest.approx(est / 2)
    default_cap = np.sqrt(8) / 10
    assert cluster_radius(X) == pytest.approx(min(est, default_cap))
    assert cluster_radius(X, bandwidth=0.123) == 0.123
    # a subsample with a fixed seed: deterministic and close
    sub = cluster_radius(X, radius_cap=10.0, n_estimate_samples=200)
    assert sub == cluster_radius(X, radius_cap=10.0, n_estimate_samples=200)
    assert sub == pytest.approx(est, rel=0.15)
    perm = np.random.default_rng(1).permutation(len(X))
    assert cluster_radius(X[perm], radius_cap=10.0, n_estimate_samples=200) == sub


# --------------------------------------------------------------------------- improved loop
@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray, ImprovedMeanShift]:
    X, truth = _profiles([0.3, 1.2, 2.1, 3.0], 150, seed=1)
    return X, truth, ImprovedMeanShift().fit(X)


def test_recovers_planted_clusters(planted) -> None:
    X, truth, est = planted
    # the estimated radius (10 % quantile) is smaller than a planted group: groups split into
    # a core and fringe clusters, but no cluster mixes two groups
    clustered = est.labels_ >= 0
    assert homogeneity_score(truth[clustered], est.labels_[clustered]) > 0.99
    assert np.mean(clustered) > 0.95
    cores = [np.bincount(est.labels_[clustered & (truth == g)]).max() for g in range(4)]
    assert min(cores) > 0.6 * 150
    # a radius the size of a group recovers the groups themselves
    wide = ImprovedMeanShift(bandwidth=0.25).fit(X)
    assert wide.n_clusters_ == 4
    assert adjusted_rand_score(truth, wide.labels_) > 0.95


def test_rules_of_the_improved_loop(planted) -> None:
    X, _, est = planted
    labels = est.labels_
    assert est.radius_ == pytest.approx(cluster_radius(X))
    sizes = np.bincount(labels[labels >= 0])
    assert sizes.min() >= est.min_cluster_size
    assert len(sizes) == est.n_clusters_ == len(est.cluster_centers_)
    inside = labels >= 0
    dist = np.linalg.norm(X[inside] - est.cluster_centers_[labels[inside]], axis=1)
    assert dist.max() <= est.radius_
    # clusters numbered by decreasing mean pass rate of their centre
    assert np.all(np.diff(est.cluster_centers_.mean(axis=1)) <= 0)
    assert 1 <= est.n_rounds_ <= est.max_rounds


def test_min_cluster_size_and_outliers() -> None:
    X, _ = _profiles([0.5, 2.5], 120, seed=2)
    rng = np.random.default_rng(0)
    X = np.vstack([X, rng.random((6, 8))])  # scattered items: no cluster of 10 around them
    est = ImprovedMeanShift(min_cluster_size=30).fit(X)
    sizes = np.bincount(est.labels_[est.labels_ >= 0])
    assert sizes.min() >= 30
    assert np.all(est.labels_[-6:] == OUTLIER)
    big = ImprovedMeanShift(min_cluster_size=10_000).fit(X)
    assert big.n_clusters_ == 0 and np.all(big.labels_ == OUTLIER)


def test_deterministic_and_order_invariant(planted) -> None:
    X, _, est = planted
    again = ImprovedMeanShift().fit(X)
    assert np.array_equal(again.labels_, est.labels_)
    assert np.array_equal(again.cluster_centers_, est.cluster_centers_)
    perm = np.random.default_rng(9).permutation(len(X))
    shuffled = ImprovedMeanShift().fit(X[perm])
    assert np.array_equal(shuffled.labels_, est.labels_[perm])


def test_single_round_is_sklearn_meanshift_plus_pruning() -> None:
    X = _blobs(400, 3)
    bw = 0.8 * estimate_bandwidth(X, quantile=0.1)
    est = ImprovedMeanShift(bandwidth=bw, max_rounds=1, min_cluster_size=1).fit(X)
    ref = MeanShift(bandwidth=bw, bin_seeding=True).fit(X)
    far = np.linalg.norm(X - ref.cluster_centers_[ref.labels_], axis=1) > bw
    assert np.array_equal(est.labels_ == OUTLIER, far)
    assert _same_partition(est.labels_[~far], ref.labels_[~far])


def test_degenerate_inputs() -> None:
    same = np.full((12, 3), 0.5)
    est = ImprovedMeanShift().fit(same)  # zero bandwidth: identical items form one cluster
    assert est.radius_ == 0 and est.n_clusters_ == 1 and np.all(est.labels_ == 0)
    few = ImprovedMeanShift().fit(np.random.default_rng(0).random((5, 3)))
    assert np.all(few.labels_ == OUTLIER)


def test_progress_goes_to_stderr(planted, capsys) -> None:
    X, _, _ = planted
    ImprovedMeanShift(progress=True).fit(X)
    err = capsys.readouterr().err
    assert "meanshift round 1:" in err


def test_estimator_basics() -> None:
    est = ImprovedMeanShift(quantile=0.2, min_cluster_size=5, bin_seeding=False)
    params = est.get_params()
    assert params["quantile"] == 0.2 and params["bin_seeding"] is False
    copy = clone(est)
    assert copy.get_params() == params and copy is not est
    assert est.set_params(max_rounds=3).max_rounds == 3
    X, _ = _profiles([0.5, 2.5], 60)
    assert np.array_equal(est.fit_predict(X), est.labels_)
    with pytest.raises(ValueError, match="quantile"):
        ImprovedMeanShift(quantile=2.0).fit(X)


def test_sklearn_estimator_checks() -> None:
    from sklearn.utils.estimator_checks import check_estimator

    # sklearn's clustering check uses standardised blobs: far outside [0, 1], where the default
    # radius cap sqrt(S) / 10 leaves every item an outlier (by design for pass rates)
    expected = {"check_clustering": "radius cap assumes features in [0, 1]"}
    for est in (ImprovedMeanShift(), KMeansClusterer(n_clusters=2)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(est, expected_failed_checks=expected, on_fail=None)
        failed = [r["check_name"] for r in results if r["status"] == "failed"]
        assert failed == [], failed


# --------------------------------------------------------------------------- KMeans
def test_kmeans_plain_and_improved() -> None:
    X, truth = _profiles([0.3, 1.2, 2.1, 3.0], 100, seed=3)
    km = KMeansClusterer(n_clusters=4).fit(X)
    assert km.n_clusters_ == 4 and km.n_rounds_ == 1 and np.isnan(km.radius_)
    assert adjusted_rand_score(truth, km.labels_) > 0.9
    assert np.array_equal(KMeansClusterer(n_clusters=4).fit(X).labels_, km.labels_)
    imp = KMeansClusterer(n_clusters=4, improved=True).fit(X)
    clustered = imp.labels_ >= 0
    dist = np.linalg.norm(X[clustered] - imp.cluster_centers_[imp.labels_[clustered]], axis=1)
    assert dist.max() <= imp.radius_
    assert np.bincount(imp.labels_[clustered]).min() >= 10
    # too-small clusters become outliers
    tiny = KMeansClusterer(n_clusters=40, min_cluster_size=15).fit(X)
    sizes = np.bincount(tiny.labels_[tiny.labels_ >= 0])
    assert sizes.min() >= 15 and np.any(tiny.labels_ == OUTLIER)


def test_default_n_clusters_rule() -> None:
    assert default_n_clusters(17944) == 95
    assert default_n_clusters(200) == 10
    assert default_n_clusters(50) == 5  # bounded by n // min_cluster_size
    assert default_n_clusters(3) == 1
    assert KMeansClusterer().fit(_profiles([0.5, 2.5], 100)[0]).n_clusters_ <= 10


# --------------------------------------------------------------------------- all items
def _features() -> tuple[DifficultyFeatures, np.ndarray]:
    X, truth = _profiles([0.3, 1.5, 2.7], 100, seed=6)
    n_zero, n_missing = 7, 4
    n = len(X) + n_zero + n_missing
    kept = np.zeros(n, dtype=bool)
    kept[: len(X)] = True
    all_zero = np.zeros(n, dtype=bool)
    all_zero[len(X) : len(X) + n_zero] = True
    missing = ~kept & ~all_zero
    feats = DifficultyFeatures(
        benchmark="b",
        items=pd.Index([f"q{i}" for i in range(n)], name="item"),
        models=[f"m{j}" for j in range(8)],
        X=X,
        kept=kept,
        all_zero=all_zero,
        missing=missing,
    )
    return feats, truth


@pytest.mark.parametrize("method", ["meanshift", "kmeans", "improved-kmeans"])
def test_cluster_features_labels_all_items(method: str) -> None:
    feats, truth = _features()
    # a radius the size of a planted group (the default one splits groups into core and fringe)
    params = {
        "meanshift": {"bandwidth": 0.3},
        "kmeans": {"n_clusters": 3},
        "improved-kmeans": {"n_clusters": 3, "bandwidth": 0.3},
    }[method]
    labels = cluster_features(feats, method, **params)
    assert labels.shape == (feats.n_items,)
    assert np.all(labels[feats.all_zero] == ALL_ZERO)
    assert np.all(labels[feats.missing] == OUTLIER)
    assert adjusted_rand_score(truth, labels[feats.kept]) > 0.9
    assert np.array_equal(labels, cluster_features(feats, method, **params))


def test_cluster_features_passes_params_and_rejects_unknown_method() -> None:
    feats, _ = _features()
    labels = cluster_features(feats, min_cluster_size=1000)
    assert np.all(labels[feats.kept] == OUTLIER)
    with pytest.raises(ValueError, match="unknown clustering method"):
        cluster_features(feats, "dbscan")
