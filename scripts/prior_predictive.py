"""Prior predictive check of the cod-bayes model on a simulated ladder.

Run from the repository root::

    .venv/bin/python scripts/prior_predictive.py [--config small|paper] [--draws 500]
        [--seed 0] [--plot prior_predictive.png]

Builds the model for the ladder's clusters exactly as ``CODBayes`` would, draws from the prior
(``pm.sample_prior_predictive``) and prints what the priors imply before seeing any score:
cluster curves on the ladder (accuracy at the bottom, middle and top rung), the cluster
parameters (``a``, ``b``, ``c``, ``g``), the implied ladder-to-target growth and the implied
full-benchmark score at the paper's 27x target.  With ``--plot`` it also draws 40 prior cluster
curves per benchmark next to the observed ones.  ``docs/model.md`` shows and discusses the
output.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
import pymc as pm

from codbayes.data.simulate import paper_scale_config, simulate_ladder, small_config
from codbayes.laws import cod_law
from codbayes.methods.cod_point import analyse_benchmark
from codbayes.model import (
    DEFAULT_MODEL_CONFIG,
    LAW_VARS,
    MAP_VARS,
    FitData,
    build_model,
    flatten_draws,
    merge_config,
    predict_draws,
    prepare_data,
)

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def prior_predictive_tables(
    data: FitData,
    model_config: dict | None = None,
    draws: int = 500,
    seed: int = 0,
    target_flops: float = 3.8e24,
) -> dict[str, pd.DataFrame]:
    """Quantiles of prior quantities of the model built on ``data``.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"parameters"`` (cluster ``a, b, c, g``), ``"ladder"`` (prior predictive cluster
        accuracy at the bottom / middle / top rung), ``"target"`` (full-benchmark score at
        ``target_flops`` per benchmark) and ``"growth"`` (target score minus the prior score at
        the top rung, per benchmark).
    """
    cfg = merge_config(DEFAULT_MODEL_CONFIG, model_config)
    model = build_model(data, cfg)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*object mode.*")
        prior = pm.sample_prior_predictive(draws=draws, model=model, random_seed=seed)
    post = flatten_draws(prior.prior.to_dataset(), (*LAW_VARS, *MAP_VARS, "a"))
    q = list(QUANTILES)
    params = pd.DataFrame({v: np.quantile(post[v], q) for v in ("a", "b", "c", "g")}, index=q).T
    acc = prior.prior_predictive["y"].values.reshape(draws, -1)
    if cfg["likelihood"] == "beta_binomial":
        acc = acc / data.obs_n
    rungs = {"bottom": 0, "middle": len(data.rungs) // 2, "top": len(data.rungs) - 1}
    ladder = pd.DataFrame(
        {name: np.quantile(acc[:, data.obs_rung == i], q) for name, i in rungs.items()}, index=q
    ).T
    rng = np.random.default_rng(seed)
    top_flops = data.compute_unit * np.exp(data.log_x[-1])
    scores = predict_draws(
        post,
        data,
        np.array([top_flops, target_flops]),
        rng,
        likelihood=cfg["likelihood"],
        mapping=cfg["mapping"],
    )
    target = pd.DataFrame(np.quantile(scores[:, 1], q, axis=1).T, index=data.benchmarks, columns=q)
    growth = pd.DataFrame(
        np.quantile(scores[:, 1] - scores[:, 0], q, axis=1).T, index=data.benchmarks, columns=q
    )
    return {"parameters": params, "ladder": ladder, "target": target, "growth": growth}


def plot_curves(data: FitData, post: dict, path: str, n_curves: int = 40) -> None:
    """40 prior cluster curves per benchmark next to the observed cluster accuracies."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.exp(np.linspace(0, data.log_x[-1] + np.log(27), 100))
    fig, axes = plt.subplots(1, data.n_bench, figsize=(4 * data.n_bench, 3.2), squeeze=False)
    rng = np.random.default_rng(0)
    for k, ax in enumerate(axes[0]):
        clusters = np.flatnonzero(data.cluster_bench == k)
        for _ in range(n_curves):
            d, j = rng.integers(post["b"].shape[0]), rng.choice(clusters)
            y = cod_law(x, post["g"][d, j], post["a"][d, j], post["b"][d, j], post["c"][d, j])
            ax.plot(x, y, color="tab:blue", alpha=0.25, lw=0.8)
        for j in clusters:
            obs = data.obs_cluster == j
            ax.plot(
                np.exp(data.log_x[data.obs_rung[obs]]),
                data.obs_y[obs] / data.obs_n[obs],
                "k.",
                ms=3,
            )
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_title(data.benchmarks[k])
        ax.set_xlabel("compute / smallest rung")
    axes[0][0].set_ylabel("cluster accuracy (prior curves, observed dots)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    """Print the prior predictive tables (and optionally plot curves)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=("small", "paper"), default="small")
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None, help="write a PNG of prior cluster curves here")
    args = p.parse_args(argv)

    cfg = small_config() if args.config == "small" else paper_scale_config()
    sim = simulate_ladder(cfg, seed=args.seed)
    clustered = [analyse_benchmark(sim.ladder, b) for b in sim.ladder.benchmark_names]
    data = prepare_data([cb for cb in clustered if cb.n_clusters > 0])
    tables = prior_predictive_tables(data, draws=args.draws, seed=args.seed)
    with pd.option_context("display.width", 120, "display.precision", 3):
        for name, table in tables.items():
            print(f"\n== prior {name} (quantiles) ==")
            print(table)
    if args.plot:
        model = build_model(data)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*object mode.*")
            prior = pm.sample_prior_predictive(draws=200, model=model, random_seed=args.seed)
        post = flatten_draws(prior.prior.to_dataset(), ("a", "b", "c", "g"))
        plot_curves(data, post, args.plot)
        print(f"\nwrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
