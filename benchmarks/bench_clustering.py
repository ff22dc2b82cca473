"""Time difficulty features and clustering at paper scale (TriviaQA: 17,944 items x 8 rungs).

Usage::

    .venv/bin/python benchmarks/bench_clustering.py [--items 17944] [--rungs 8] [--samples 100]
        [--seed 0] [--all-seeds] [--sklearn-subsample 2000]

Simulates one benchmark with :mod:`codbayes.data.simulate` (rungs log-spaced 4e19..1.4e23 FLOPs,
binomial pass rates), builds the features, and times :class:`~codbayes.cluster.ImprovedMeanShift`
and the KMeans alternatives.  With ``--sklearn-subsample N`` it also runs one MeanShift step on
``N`` items with both sklearn and codbayes (same bandwidth) and reports whether the partitions
agree.  Prints one line per stage.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.cluster import MeanShift
from sklearn.metrics import adjusted_rand_score

from codbayes.cluster import ImprovedMeanShift, KMeansClusterer, _mean_shift, cluster_features
from codbayes.data.simulate import (
    BenchmarkSpec,
    SimulationConfig,
    log_spaced_flops,
    simulate_ladder,
)
from codbayes.features import difficulty_features


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=17944)
    parser.add_argument("--rungs", type=int, default=8)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--all-seeds", action="store_true", help="also time bin_seeding=False (seed every item)"
    )
    parser.add_argument("--sklearn-subsample", type=int, default=2000, help="0 to skip")
    parser.add_argument("--progress", action="store_true")
    return parser.parse_args()


def _report(name: str, seconds: float, labels: np.ndarray, est=None) -> None:
    clustered = labels >= 0
    extra = "" if est is None else f", radius {est.radius_:.4f}, rounds {est.n_rounds_}"
    print(
        f"{name:<28} {seconds:7.2f} s  clusters {len(np.unique(labels[clustered])):4d}, "
        f"outliers {int(np.sum(labels == -1)):5d}, in clusters {int(clustered.sum()):6d}{extra}"
    )


def main() -> None:
    args = _parse()
    config = SimulationConfig(
        benchmarks=(
            BenchmarkSpec("TriviaQA", args.items, difficulty_mean=22.6, difficulty_sd=1.5),
        ),
        rung_flops=log_spaced_flops(4e19, 1.4e23, args.rungs),
        samples_per_item=args.samples,
        anchors=(),
    )
    ladder = simulate_ladder(config, seed=args.seed).ladder

    start = time.perf_counter()
    features = difficulty_features(ladder, "TriviaQA")
    seconds = time.perf_counter() - start
    X = features.X
    print(
        f"{'features':<28} {seconds:7.2f} s  {features.n_items} items x {len(features.models)} "
        f"rungs, {int(features.all_zero.sum())} all-zero, {X.shape[0]} kept, "
        f"{len(np.unique(X, axis=0))} distinct feature vectors"
    )

    runs = [("ImprovedMeanShift", ImprovedMeanShift(progress=args.progress))]
    if args.all_seeds:
        runs.append(("ImprovedMeanShift all seeds", ImprovedMeanShift(bin_seeding=False)))
    runs += [
        ("KMeans", KMeansClusterer()),
        ("improved KMeans", KMeansClusterer(improved=True)),
    ]
    fitted = {}
    for name, est in runs:
        start = time.perf_counter()
        est.fit(X)
        fitted[name] = est
        _report(name, time.perf_counter() - start, est.labels_, est)
    if args.all_seeds:
        ari = adjusted_rand_score(
            fitted["ImprovedMeanShift"].labels_, fitted["ImprovedMeanShift all seeds"].labels_
        )
        print(f"{'binned vs all seeds: ARI':<28} {ari:.4f}")

    start = time.perf_counter()
    labels = cluster_features(features)
    _report("cluster_features (all items)", time.perf_counter() - start, labels)
    print(f"{'':<28}            all-zero label -2: {int(np.sum(labels == -2))} items")

    n = min(args.sklearn_subsample, len(X))
    if n:
        sub = X[np.random.default_rng(0).choice(len(X), n, replace=False)]
        radius = fitted["ImprovedMeanShift"].radius_
        start = time.perf_counter()
        ref = MeanShift(bandwidth=radius, bin_seeding=True).fit(sub)
        t_ref = time.perf_counter() - start
        start = time.perf_counter()
        ours, _ = _mean_shift(sub, radius, bin_seeding=True)
        t_ours = time.perf_counter() - start
        same = adjusted_rand_score(ref.labels_, ours)
        print(
            f"{'one MeanShift, ' + str(n) + ' items':<28} sklearn {t_ref:.2f} s, codbayes "
            f"{t_ours:.2f} s; clusters {len(ref.cluster_centers_)} vs "
            f"{len(np.unique(ours))}, ARI {same:.4f}"
        )


if __name__ == "__main__":
    main()
