"""Synthetic :class:`ClusteredBenchmark` objects with known laws, for the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from codbayes.laws import cod_law
from codbayes.subset import ClusteredBenchmark

UNIT = 1e20


def true_rest(s: np.ndarray) -> np.ndarray:
    """Score on the non-subset items as a function of the subset score (convex)."""
    return np.asarray(s) ** 2.5


def synthetic_benchmark(
    name: str,
    *,
    n_clusters: int = 4,
    n_rungs: int = 6,
    ratio: float = 4.0,
    size: int = 60,
    samples: int = 10,
    phi: float = 0.7,
    guess_rate: float | None = None,
    tau: float = 30.0,
    anchor: bool = False,
    seed: int = 0,
    params: np.ndarray | None = None,
) -> tuple[ClusteredBenchmark, pd.DataFrame]:
    """A clustered benchmark whose clusters follow :func:`cod_law` plus Beta-binomial noise.

    Returns the benchmark and the true cluster parameters (g, a, b, c per cluster).
    """
    rng = np.random.default_rng(seed)
    compute = UNIT * ratio ** np.arange(n_rungs)
    x = compute / UNIT
    if params is None:
        g = np.full(n_clusters, 0.0 if guess_rate is None else guess_rate)
        a = np.exp(rng.uniform(0.5, 2.0, n_clusters))
        b = rng.uniform(0.25, 0.6, n_clusters)
        c = rng.uniform(0.0, 0.2, n_clusters)
        params = np.column_stack([g, a, b, c])
    truth = pd.DataFrame(params, columns=["g", "a", "b", "c"])
    mu = cod_law(x[None, :], *(params[:, [q]] for q in range(4)))
    kappa = size * tau
    p = rng.beta(mu * kappa, (1 - mu) * kappa)
    trials = np.full(p.shape, float(size * samples))
    successes = rng.binomial(trials.astype(int), p).astype(float)
    models = [f"m{i}" for i in range(n_rungs)]
    is_ladder = np.ones(n_rungs, dtype=bool)
    accuracy = successes / trials
    if anchor:  # an external model 50x above the top rung, only its scores are known
        x_anchor = x[-1] * 50
        mu_a = cod_law(x_anchor, *(params[:, q] for q in range(4)))
        accuracy = np.column_stack([accuracy, mu_a])
        successes = np.column_stack([successes, mu_a * size * samples])
        trials = np.column_stack([trials, np.full(n_clusters, float(size * samples))])
        models.append("anchor")
        compute = np.append(compute, np.nan)
        is_ladder = np.append(is_ladder, False)
    sizes = np.full(n_clusters, size)
    subset = (sizes[:, None] * accuracy).sum(0) / sizes.sum()
    n_items = round(sizes.sum() / phi)
    full = phi * subset + (1 - phi) * true_rest(subset) + rng.normal(0, 0.003, subset.size)
    clusters = pd.DataFrame(
        {
            "size": sizes,
            **{k: truth[k].to_numpy() for k in "gabc"},
            "rmse": 0.0,
            "cls": "extrapolatable",
            "extrapolatable": True,
        },
        index=pd.Index(np.arange(n_clusters), name="label"),
    )
    labels = np.full(n_items, -2)
    labels[: sizes.sum()] = np.repeat(np.arange(n_clusters), size)
    cb = ClusteredBenchmark(
        benchmark=name,
        items=pd.Index([f"{name}-{i}" for i in range(n_items)], name="item"),
        labels=labels,
        models=models,
        compute=compute,
        is_ladder=is_ladder,
        compute_unit=UNIT,
        clusters=clusters,
        accuracy=accuracy,
        successes=successes,
        trials=trials,
        subset_score=subset,
        full_score=full,
        guess_rate=guess_rate,
    )
    return cb, truth


def true_full_score(cb: ClusteredBenchmark, truth: pd.DataFrame, flops: float, phi: float) -> float:
    """Noise-free full score of the synthetic benchmark at ``flops``."""
    x = flops / UNIT
    mu = cod_law(
        x,
        truth["g"].to_numpy(),
        truth["a"].to_numpy(),
        truth["b"].to_numpy(),
        truth["c"].to_numpy(),
    )
    sizes = cb.clusters["size"].to_numpy()
    s = float((sizes * mu).sum() / sizes.sum())
    return phi * s + (1 - phi) * float(true_rest(s))
