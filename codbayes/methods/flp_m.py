"""FLP-M: per-domain loss laws and a small neural network from domain losses to score.

Chen et al. (arXiv 2410.08527) extend FLP to a data mixture: one compute -> loss power law per
data domain, then a small two-layer network maps the vector of domain losses to the score.

Here:

* **domains** are the ``loss:<domain>`` columns of the checkpoints table
  (:mod:`codbayes.data.checkpoints`), e.g. the 11 validation sets of the OLMo ladder (C4, Dolma
  books / CC / pes2o / reddit / stack / wiki, ICE, M2D2-S2ORC, Pile, WikiText-103).  When the data
  have no per-domain losses (``domains="auto"``) or when asked (``domains="tasks"``), every
  benchmark's own task loss is used as one "domain": a multi-loss signal, not a data mixture.
  With a single domain (Pythia's LAMBADA loss) FLP-M is FLP with a neural stage 2.
* **stage 1**: ``L_d(C) = e_d + a_d x^-b_d`` per domain on the final checkpoints of the ladder
  models (as :func:`codbayes.methods.flp.fit_loss_law`);
* **stage 2**: per benchmark, standardised domain losses -> score with
  :class:`sklearn.neural_network.MLPRegressor` (one hidden layer of ``hidden`` ReLU units plus
  the output layer, L-BFGS, fixed ``random_state``), on the checkpoints that scored at least
  guess rate + 5 points;
* **intervals**: a cluster bootstrap over ladder models (each replicate resamples whole runs and
  refits both stages), seeded by ``seed``; ``predict`` returns the replicates as draws,
  :meth:`FLPM.predict_point` the fit on all data.

Predictions are clipped to [0, 1].
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from codbayes.data.checkpoints import (
    DEFAULT_EMERGED_MARGIN,
    DOMAIN_PREFIX,
    TASK_LOSS,
    domain_columns,
    emerged_mask,
    final_checkpoints,
    require_loss_data,
    resolve_guess_rates,
)
from codbayes.data.ladder import Ladder
from codbayes.errors import InputError
from codbayes.methods.base import Predictor, as_flops
from codbayes.methods.flp import MIN_STAGE2_POINTS, LossLaw, fit_loss_law
from codbayes.prediction import Prediction

__all__ = ["FLPM", "domain_features"]


def domain_features(ckpt: pd.DataFrame, domains: str | Sequence[str] = "auto") -> pd.DataFrame:
    """Per-checkpoint domain losses: one row per (model, step), one column per domain.

    Parameters
    ----------
    ckpt : pandas.DataFrame
        A validated checkpoints table.
    domains : "auto", "tasks" or sequence of str, default "auto"
        ``"auto"``: all ``loss:<domain>`` columns, else the benchmarks' task losses; ``"tasks"``:
        the task loss of every benchmark that has one (column = benchmark name); a sequence:
        these domains (with or without the ``loss:`` prefix).

    Returns
    -------
    pandas.DataFrame
        Columns ``model, step, tokens, flops`` and the domain columns; checkpoints with a missing
        domain loss are dropped.

    Raises
    ------
    codbayes.errors.InputError
        No usable loss columns.
    """
    keys = ["model", "step"]
    if isinstance(domains, str) and domains not in ("auto", "tasks"):
        domains = [domains]
    if isinstance(domains, str):
        mode = domains
        if mode == "auto":
            mode = "domains" if domain_columns(ckpt) else "tasks"
        if mode == "domains":
            cols = domain_columns(ckpt)
        else:
            if TASK_LOSS not in ckpt.columns or ckpt[TASK_LOSS].notna().sum() == 0:
                raise InputError(
                    "method flp-m needs per-domain losses ('loss:<domain>' columns) or task "
                    "losses ('loss') in the checkpoints table; found neither"
                )
            wide = ckpt.pivot_table(index=keys, columns="benchmark", values=TASK_LOSS)
            wide.columns = [str(c) for c in wide.columns]
            base = ckpt.drop_duplicates(keys)[[*keys, "tokens", "flops"]]
            out = base.merge(wide.reset_index(), on=keys)
            cols = list(wide.columns)
            return out.dropna(subset=cols).reset_index(drop=True)
    else:
        cols = [d if d.startswith(DOMAIN_PREFIX) else DOMAIN_PREFIX + d for d in domains]
        missing = [c for c in cols if c not in ckpt.columns]
        if missing:
            raise InputError(
                f"method flp-m: no domain loss column {missing[0]!r}; have {domain_columns(ckpt)}"
            )
    out = ckpt.drop_duplicates(keys)[[*keys, "tokens", "flops", *cols]]
    return out.dropna(subset=cols).reset_index(drop=True)


class FLPM(Predictor):
    """FLP-M: domain loss laws plus a two-layer network, with bootstrap intervals.

    Parameters
    ----------
    domains : "auto", "tasks" or sequence of str, default "auto"
        Which losses act as domains (see :func:`domain_features`).
    hidden : int, default 32
        Hidden units of the network (one hidden layer + output layer).
    alpha : float, default 1e-3
        L2 penalty of the network.
    max_iter : int, default 2000
        L-BFGS iterations.
    random_state : int, default 0
        Network initialisation (fixed, also in every bootstrap replicate).
    n_bootstrap : int, default 30
        Bootstrap replicates (0: one draw, the fit on all data).
    emerged_margin : float or None, default 0.05
        Stage 2 uses checkpoints scoring at least guess rate + this (None: all).
    guess_rates : Mapping[str, float], optional
        Guess-rate overrides (else the data's, then known tables, then 0).
    final_last_k : int, default 1
        Stage-1 loss of a model = mean over its last ``final_last_k`` checkpoints.
    seed : int, optional
        Seed of the bootstrap resampling.

    Attributes
    ----------
    domains_ : list of str
        The domain columns used.
    laws_ : dict of str -> LossLaw
        Stage-1 law per domain (fit on all data).
    networks_ : dict of str -> sklearn.pipeline.Pipeline
        Stage-2 network per benchmark (fit on all data).
    boot_laws_, boot_networks_ : list
        The bootstrap replicates' fits.
    """

    name = "flp-m"

    def __init__(
        self,
        domains: str | Sequence[str] = "auto",
        hidden: int = 32,
        alpha: float = 1e-3,
        max_iter: int = 2000,
        random_state: int = 0,
        n_bootstrap: int = 30,
        emerged_margin: float | None = DEFAULT_EMERGED_MARGIN,
        guess_rates: Mapping[str, float] | None = None,
        final_last_k: int = 1,
        seed: int | None = None,
    ) -> None:
        self.domains = domains
        self.hidden = hidden
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_bootstrap = n_bootstrap
        self.emerged_margin = emerged_margin
        self.guess_rates = guess_rates
        self.final_last_k = final_last_k
        self.seed = seed

    # ------------------------------------------------------------------ fitting pieces
    def _network(self) -> Pipeline:
        return make_pipeline(
            StandardScaler(),
            MLPRegressor(
                hidden_layer_sizes=(self.hidden,),
                activation="relu",
                solver="lbfgs",
                alpha=self.alpha,
                max_iter=self.max_iter,
                random_state=self.random_state,
            ),
        )

    def _fit_laws(self, features: pd.DataFrame, models: Sequence[str]) -> dict[str, LossLaw]:
        """Stage 1 on the final checkpoints of ``models`` (repeats allowed)."""
        finals = final_checkpoints(features, last_k=self.final_last_k).set_index("model")
        rows = finals.loc[list(models)]
        return {d: fit_loss_law(rows["flops"], rows[d], "offset") for d in self.domains_}

    def _fit_networks(self, train: pd.DataFrame, models: Sequence[str]) -> dict[str, Pipeline]:
        """Stage 2 per benchmark on the checkpoints of ``models`` (repeats allowed)."""
        counts = pd.Series(list(models)).value_counts()
        nets = {}
        for bench in self.benchmarks_:
            rows = train[train["benchmark"] == bench]
            rows = rows.loc[rows.index.repeat(rows["model"].map(counts).fillna(0).astype(int))]
            if len(rows) < MIN_STAGE2_POINTS:
                raise ValueError(f"too few checkpoints for {bench!r}")
            net = self._network()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SklearnConvergenceWarning)
                net.fit(rows[self.domains_].to_numpy(float), rows["score"].to_numpy(float))
            nets[bench] = net
        return nets

    def fit(self, ladder: Ladder) -> Self:
        """Fit domain laws and networks (plus bootstrap replicates) and return ``self``."""
        ckpt = require_loss_data(ladder, self.name)
        features = domain_features(ckpt, self.domains)
        self.domains_ = [
            c for c in features.columns if c not in ("model", "step", "tokens", "flops")
        ]
        benches = sorted(ckpt["benchmark"].unique())
        guesses = resolve_guess_rates(
            benches, checkpoints=ckpt, ladder=ladder, override=self.guess_rates
        )
        scored = ckpt[["model", "step", "benchmark", "score"]].merge(features, on=["model", "step"])
        keep = emerged_mask(scored, guesses, self.emerged_margin)
        for bench in benches:  # too few emerged checkpoints: use all of them, as FLP does
            mine = (scored["benchmark"] == bench).to_numpy()
            if (keep & mine).sum() < MIN_STAGE2_POINTS:
                warnings.warn(
                    f"{self.name}: benchmark {bench!r} has {(keep & mine).sum()} emerged "
                    "checkpoints; fitting its network on all checkpoints",
                    UserWarning,
                    stacklevel=2,
                )
                keep |= mine
        self.train_ = scored[keep].reset_index(drop=True)
        self.benchmarks_ = benches
        self.guess_rates_ = guesses
        models = list(features["model"].unique())
        try:
            self.laws_ = self._fit_laws(features, models)
            self.networks_ = self._fit_networks(self.train_, models)
        except ValueError as err:
            raise InputError(
                f"method {self.name}: cannot fit on {len(models)} ladder models with loss data: "
                f"{err}"
            ) from err
        self.boot_laws_, self.boot_networks_ = [], []
        rng = np.random.default_rng(self.seed)
        attempts = 0
        while len(self.boot_laws_) < self.n_bootstrap and attempts < 3 * self.n_bootstrap + 10:
            attempts += 1
            sample = list(rng.choice(models, size=len(models), replace=True))
            try:
                laws = self._fit_laws(features, sample)
                nets = self._fit_networks(self.train_, sample)
            except ValueError:  # degenerate resample (too few distinct computes or points)
                continue
            self.boot_laws_.append(laws)
            self.boot_networks_.append(nets)
        if len(self.boot_laws_) < self.n_bootstrap:
            warnings.warn(
                f"{self.name}: only {len(self.boot_laws_)} of {self.n_bootstrap} bootstrap "
                "replicates could be fitted",
                UserWarning,
                stacklevel=2,
            )
        self.ladder_ = ladder
        return self

    # ------------------------------------------------------------------ prediction
    def _predict_with(
        self, laws: Mapping[str, LossLaw], nets: Mapping[str, Any], flops: np.ndarray
    ) -> np.ndarray:
        """Scores ``(n_benchmarks, n_targets)`` of one fit."""
        x = np.column_stack([laws[d](flops) for d in self.domains_])
        return np.stack([np.clip(nets[b].predict(x), 0.0, 1.0) for b in self.benchmarks_])

    def predict_losses(self, target_flops: float | Sequence[float] | np.ndarray) -> pd.DataFrame:
        """Stage-1 predicted loss per domain (rows) and target compute (columns)."""
        self._check_fitted()
        flops = as_flops(target_flops)
        return pd.DataFrame({d: self.laws_[d](flops) for d in self.domains_}, index=flops).T

    def predict_point(self, target_flops: float | Sequence[float] | np.ndarray) -> Prediction:
        """One-draw prediction of the fit on all data."""
        self._check_fitted()
        flops = as_flops(target_flops)
        scores = self._predict_with(self.laws_, self.networks_, flops)
        return Prediction.from_points(
            self.name, flops, dict(zip(self.benchmarks_, scores, strict=True)), seed=self.seed
        )

    def predict(self, target_flops: float | Sequence[float] | np.ndarray) -> Prediction:
        """Bootstrap draws of every benchmark's score (the full-data fit if no replicates)."""
        self._check_fitted()
        flops = as_flops(target_flops)
        if not self.boot_laws_:
            return self.predict_point(flops)
        draws = np.stack(
            [
                self._predict_with(laws, nets, flops)
                for laws, nets in zip(self.boot_laws_, self.boot_networks_, strict=True)
            ],
            axis=-1,
        )
        return Prediction(
            method=self.name,
            target_flops=flops,
            benchmarks=list(self.benchmarks_),
            draws=draws,
            seed=self.seed,
        )
