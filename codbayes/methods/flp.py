"""FLP: predict a benchmark score through a loss (Chen et al., arXiv 2410.08527).

Two stages, each fitted on a different part of the ladder's checkpoints table
(:mod:`codbayes.data.checkpoints`):

Stage 1, compute -> loss, on the **final** checkpoint of every ``ladder`` model:

* ``stage1="offset"`` (default): ``L(C) = e + a x^-b`` with ``x = C / C0`` (``C0`` = smallest
  fitted compute), ``a, b > 0``, ``0 <= e < min L``;
* ``stage1="pure"``: the published ``L(C) = (C / C_N)^-alpha``, i.e. ``e = 0`` (``alpha = b``,
  ``C_N = C0 a^(1/b)``).

Both are fitted in log space (least squares on ``log L``; scipy, multi-start).

Stage 2, loss -> score, on the **intermediate checkpoints** of the ladder models whose score is
at least the guess rate + 5 points (FLP's "emerged" filter, ``emerged_margin``):

* ``stage2="linear"`` (FLP as published): ``P = w0 + w1 L``;
* ``stage2="sigmoid"`` (the AI2 ladder's step 2): ``P = a / (1 + exp(-k (L - L0))) + b`` with
  ``a <= 0`` and, as in AI2's code, two anchor points ``(L=0, P=1)`` and ``(max L seen, guess)``.

Which loss (``loss``): ``"task"`` is the benchmark's own loss (the AI2 ladder's task loss, bits
per byte of the correct answer), ``"pretrain"`` the mean of the ``loss:<domain>`` pre-training
losses (FLP's choice), a domain name one of them; ``"auto"`` takes the task loss when the
benchmark has one and the pre-training loss otherwise.

:class:`FLP` gives point predictions; :class:`FLPBayes` fits both stages jointly in PyMC and
propagates the stage-1 posterior (and the residual noise of both stages) into the score draws.
Predictions are clipped to [0, 1].
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from codbayes.data.checkpoints import (
    DEFAULT_EMERGED_MARGIN,
    TASK_LOSS,
    checkpoint_losses,
    domain_columns,
    emerged_mask,
    final_checkpoints,
    require_loss_data,
    resolve_guess_rates,
)
from codbayes.data.ladder import Ladder
from codbayes.errors import InputError
from codbayes.methods.base import Predictor, as_flops
from codbayes.prediction import Prediction
from codbayes.sampling import reproducible

__all__ = [
    "FLP",
    "FLPBayes",
    "LossLaw",
    "ScoreMap",
    "StagePoints",
    "fit_loss_law",
    "fit_score_map",
    "stage_points",
]

STAGE1_FORMS = ("offset", "pure")
STAGE2_FORMS = ("linear", "sigmoid")
MIN_STAGE2_POINTS = 3
ANCHOR_SD = 0.02
"""Standard deviation of FLP-Bayes's sigmoid anchor pseudo-observations."""


# ============================================================================ stage 1
@dataclass(frozen=True)
class LossLaw:
    """A fitted compute -> loss law ``L = e + a (C / c0)^-b``.

    Attributes
    ----------
    a, b, e : float
        Scale, exponent and irreducible loss (``e = 0`` for the pure power law).
    c0 : float
        Compute unit (FLOPs).
    rmse : float
        Root-mean-square residual of ``log L`` on the fitted points.
    """

    a: float
    b: float
    e: float
    c0: float
    rmse: float = float("nan")

    def __call__(self, flops: Any) -> np.ndarray:
        """Loss at training compute ``flops``."""
        x = np.asarray(flops, dtype=float) / self.c0
        return self.e + self.a * x ** (-self.b)

    @property
    def c_n(self) -> float:
        """``C_N`` of the published form ``(C / C_N)^-alpha`` (meaningful when ``e = 0``)."""
        return float(self.c0 * self.a ** (1.0 / self.b))


def _stage1_starts(logx: np.ndarray, y: np.ndarray, e_max: float) -> list[list[float]]:
    """Starts for the offset law: the best ``(a, e)`` on a grid of exponents, plus ``e = 0``."""
    logy = np.log(y)
    scored = []
    for b in np.geomspace(0.01, 3.0, 40):
        design = np.column_stack([np.exp(-b * logx), np.ones_like(logx)])
        (a, e), *_ = np.linalg.lstsq(design, y, rcond=None)
        e = float(np.clip(e, 0.0, e_max * 0.999))
        a = float(max(a, 1e-12))
        cost = float(np.sum((logy - np.log(e + a * np.exp(-b * logx))) ** 2))
        scored.append((cost, [float(np.log(a)), float(b), e]))
    scored.sort(key=lambda t: t[0])
    slope, icpt = np.polyfit(logx, logy, 1)
    return [scored[0][1], [float(icpt), float(max(-slope, 1e-3)), 0.0]]


def fit_loss_law(flops: Any, loss: Any, form: str = "offset") -> LossLaw:
    """Fit a compute -> loss power law in log space.

    Parameters
    ----------
    flops, loss : array_like
        Training compute (> 0) and loss (> 0) of fully trained models.
    form : {"offset", "pure"}, default "offset"
        ``e + a x^-b`` or ``a x^-b``.

    Returns
    -------
    LossLaw

    Raises
    ------
    ValueError
        Fewer than 2 distinct computes (3 for ``"offset"``) or non-positive values.
    """
    if form not in STAGE1_FORMS:
        raise ValueError(f"stage-1 form must be one of {STAGE1_FORMS}, got {form!r}")
    c = np.asarray(flops, dtype=float)
    y = np.asarray(loss, dtype=float)
    if c.shape != y.shape or np.any(c <= 0) or np.any(y <= 0) or not np.all(np.isfinite(y)):
        raise ValueError("compute and loss must be positive, finite and of the same length")
    need = 3 if form == "offset" else 2
    if np.unique(c).size < need:
        raise ValueError(f"a {form} loss law needs at least {need} distinct computes")
    c0 = float(c.min())
    logx, logy = np.log(c / c0), np.log(y)
    if form == "pure":
        slope, icpt = np.polyfit(logx, logy, 1)
        a, b = float(np.exp(icpt)), float(-slope)
        rmse = float(np.sqrt(np.mean((logy - (icpt + slope * logx)) ** 2)))
        return LossLaw(a=a, b=b, e=0.0, c0=c0, rmse=rmse)
    e_max = float(y.min()) * (1 - 1e-6)

    def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        log_a, b, e = theta
        power = np.exp(log_a - b * logx)
        return power, e + power

    def resid(theta: np.ndarray) -> np.ndarray:
        return logy - np.log(model(theta)[1])

    def jac(theta: np.ndarray) -> np.ndarray:
        power, m = model(theta)
        return np.column_stack([-power / m, power * logx / m, -1.0 / m])

    best = None
    for start in _stage1_starts(logx, y, e_max):
        res = least_squares(
            resid,
            x0=start,
            jac=jac,
            bounds=([-50.0, 1e-6, 0.0], [50.0, 5.0, max(e_max, 1e-12)]),
            method="trf",
        )
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    log_a, b, e = best.x
    rmse = float(np.sqrt(np.mean(best.fun**2)))
    return LossLaw(a=float(np.exp(log_a)), b=float(b), e=float(e), c0=c0, rmse=rmse)


# ============================================================================ stage 2
@dataclass(frozen=True)
class ScoreMap:
    """A fitted loss -> score map.

    Attributes
    ----------
    form : {"linear", "sigmoid"}
        ``w0 + w1 L`` (params ``w0, w1``) or ``a / (1 + exp(-k (L - L0))) + b`` (params
        ``a, L0, k, b``).
    params : dict
        The parameters.
    rmse : float
        Root-mean-square residual on the fitted checkpoints.
    n : int
        Number of checkpoints fitted.
    """

    form: str
    params: Mapping[str, float]
    rmse: float = float("nan")
    n: int = 0

    def __call__(self, loss: Any) -> np.ndarray:
        """Score at ``loss`` (not clipped)."""
        return score_curve(self.form, np.asarray(loss, dtype=float), self.params)


def score_curve(form: str, loss: Any, p: Mapping[str, Any]) -> Any:
    """The stage-2 curve (numpy; broadcasts over parameter arrays)."""
    if form == "linear":
        return p["w0"] + p["w1"] * loss
    return p["a"] / (1.0 + np.exp(-p["k"] * (loss - p["L0"]))) + p["b"]


def fit_score_map(
    loss: Any,
    score: Any,
    form: str = "linear",
    *,
    guess_rate: float = 0.0,
    anchor_loss: float | None = None,
) -> ScoreMap:
    """Fit the stage-2 loss -> score map by least squares.

    Parameters
    ----------
    loss, score : array_like
        Losses and scores of (emerged) checkpoints.
    form : {"linear", "sigmoid"}, default "linear"
        See :class:`ScoreMap`.
    guess_rate : float, default 0
        Random-guess score (sigmoid start and anchor).
    anchor_loss : float, optional
        Sigmoid only: add AI2's anchor points ``(0, 1)`` and ``(anchor_loss, guess_rate)``
        (AI2 uses the largest loss of the ladder's checkpoints).  None: no anchors.

    Returns
    -------
    ScoreMap
    """
    if form not in STAGE2_FORMS:
        raise ValueError(f"stage-2 form must be one of {STAGE2_FORMS}, got {form!r}")
    x = np.asarray(loss, dtype=float)
    y = np.asarray(score, dtype=float)
    if x.size < 2:
        raise ValueError("stage 2 needs at least 2 checkpoints")
    if form == "linear":
        w1, w0 = np.polyfit(x, y, 1)
        params = {"w0": float(w0), "w1": float(w1)}
        rmse = float(np.sqrt(np.mean((y - (w0 + w1 * x)) ** 2)))
        return ScoreMap("linear", params, rmse, int(x.size))
    xf, yf = x, y
    if anchor_loss is not None:
        xf = np.concatenate([x, [0.0, float(anchor_loss)]])
        yf = np.concatenate([y, [1.0, float(guess_rate)]])

    def resid(theta: np.ndarray) -> np.ndarray:
        a, l0, k, b = theta
        return yf - (a / (1.0 + np.exp(np.clip(-k * (xf - l0), -50, 50))) + b)

    best = None
    for l0, k in itertools.product(np.quantile(x, [0.1, 0.5, 0.9]), (1.0, 3.0, 10.0)):
        res = least_squares(
            resid,
            x0=[guess_rate - 1.0, float(l0), k, 1.0],
            bounds=([-np.inf, 0.0, 0.0, 0.0], [0.0, np.inf, np.inf, np.inf]),
            method="trf",
        )
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    a, l0, k, b = (float(v) for v in best.x)
    params = {"a": a, "L0": l0, "k": k, "b": b}
    rmse = float(np.sqrt(np.mean((y - score_curve("sigmoid", x, params)) ** 2)))
    return ScoreMap("sigmoid", params, rmse, int(x.size))


# ============================================================================ data preparation
@dataclass(frozen=True)
class StagePoints:
    """The data of one benchmark's two stages.

    Attributes
    ----------
    benchmark : str
        Benchmark name.
    variant : str
        Loss used: ``"task"``, ``"pretrain"`` or a ``loss:<domain>`` column.
    series : str
        Key of the stage-1 loss series (benchmarks sharing a pre-training loss share a series).
    final : pandas.DataFrame
        Stage 1: one row per ladder model, columns ``model, flops, loss``.
    checkpoints : pandas.DataFrame
        Stage 2: checkpoints used (``model, step, loss, score``), after the emerged filter.
    max_loss : float
        Largest loss among all of the benchmark's ladder checkpoints (sigmoid anchor).
    guess_rate : float
        Random-guess score.
    filtered : bool
        False when too few checkpoints passed the filter and all were used instead.
    """

    benchmark: str
    variant: str
    series: str
    final: pd.DataFrame
    checkpoints: pd.DataFrame
    max_loss: float
    guess_rate: float
    filtered: bool


def _variant_for(rows: pd.DataFrame, loss: str, benchmark: str, method: str) -> str:
    """The loss variant used for ``benchmark`` given the requested ``loss``."""
    has_task = TASK_LOSS in rows.columns and rows[TASK_LOSS].notna().any()
    has_domains = bool(domain_columns(rows)) and rows[domain_columns(rows)].notna().any().any()
    if loss == "auto":
        if has_task:
            return "task"
        if has_domains:
            return "pretrain"
    elif loss == "task":
        if has_task:
            return "task"
    elif loss == "pretrain":
        if has_domains:
            return "pretrain"
    else:
        col = loss if loss.startswith("loss:") else f"loss:{loss}"
        if col in rows.columns and rows[col].notna().any():
            return col
    raise InputError(
        f"method {method} needs per-checkpoint loss data ({loss!r} loss) for benchmark "
        f"{benchmark!r}; have {['task'] if has_task else []} + {domain_columns(rows)}"
    )


def stage_points(
    ladder: Ladder,
    *,
    loss: str = "auto",
    emerged_margin: float | None = DEFAULT_EMERGED_MARGIN,
    guess_rates: Mapping[str, float] | None = None,
    final_last_k: int = 1,
    method: str = "flp",
) -> dict[str, StagePoints]:
    """Collect both stages' data per benchmark from ``ladder``'s checkpoints.

    Raises
    ------
    codbayes.errors.InputError
        The ladder has no loss data (one line: ``method flp needs per-checkpoint loss data``).
    """
    ckpt = require_loss_data(ladder, method)
    benches = sorted(ckpt["benchmark"].unique())
    guesses = resolve_guess_rates(benches, checkpoints=ckpt, ladder=ladder, override=guess_rates)
    out: dict[str, StagePoints] = {}
    for bench in benches:
        rows = ckpt[ckpt["benchmark"] == bench]
        variant = _variant_for(rows, loss, bench, method)
        losses = checkpoint_losses(rows, variant, bench)
        scored = losses.merge(rows[["model", "step", "benchmark", "score"]], on=["model", "step"])
        if variant == "task":
            finals = final_checkpoints(losses, last_k=final_last_k)
            series = f"task:{bench}"
        else:  # a pre-training loss: the same for every benchmark, fit once
            shared = checkpoint_losses(ckpt, variant)
            finals = final_checkpoints(shared, last_k=final_last_k)
            series = variant
        keep = emerged_mask(scored, guesses, emerged_margin)
        filtered = int(keep.sum()) >= MIN_STAGE2_POINTS
        if not filtered:
            warnings.warn(
                f"{method}: benchmark {bench!r} has {int(keep.sum())} checkpoints at least "
                f"{emerged_margin} above its guess rate; fitting stage 2 on all "
                f"{len(scored)} checkpoints",
                UserWarning,
                stacklevel=3,
            )
            keep = np.ones(len(scored), dtype=bool)
        out[bench] = StagePoints(
            benchmark=bench,
            variant=variant,
            series=series,
            final=finals[["model", "flops", "loss"]],
            checkpoints=scored.loc[keep, ["model", "step", "loss", "score"]].reset_index(drop=True),
            max_loss=float(scored["loss"].max()),
            guess_rate=guesses[bench],
            filtered=filtered,
        )
    return out


def _stage1(points: StagePoints, form: str, method: str) -> LossLaw:
    """Fit one benchmark's stage-1 law, turning a too-small ladder into an :class:`InputError`."""
    try:
        return fit_loss_law(points.final["flops"], points.final["loss"], form)
    except ValueError as err:
        raise InputError(
            f"method {method}: cannot fit the compute -> loss law of {points.series!r} "
            f"({len(points.final)} ladder models with loss data): {err}"
        ) from err


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


# ============================================================================ point FLP
class FLP(Predictor):
    """FLP point predictor: compute -> loss -> score.

    Parameters
    ----------
    stage2 : {"linear", "sigmoid"}, default "linear"
        Loss -> score map: FLP's linear fit or the AI2 ladder's sigmoid.
    stage1 : {"offset", "pure"}, default "offset"
        Compute -> loss law: ``e + a x^-b`` or the published ``(C / C_N)^-alpha``.
    loss : str, default "auto"
        ``"auto"``, ``"task"``, ``"pretrain"`` or a domain (see the module docstring).
    emerged_margin : float or None, default 0.05
        Stage 2 uses checkpoints scoring at least guess rate + this (None: all checkpoints).
    guess_rates : Mapping[str, float], optional
        Guess rates overriding the data's (else the checkpoints' ``guess_rate`` column, the
        ladder's, :data:`~codbayes.data.checkpoints.KNOWN_GUESS_RATES`, 0).
    final_last_k : int, default 1
        Stage-1 loss of a model = mean over its last ``final_last_k`` checkpoints.
    sigmoid_anchors : bool, default True
        Sigmoid only: add AI2's two anchor points.

    Attributes
    ----------
    ladder_ : Ladder
        The training ladder.
    points_ : dict of str -> StagePoints
        Both stages' data per benchmark.
    laws_ : dict of str -> LossLaw
        Stage-1 law per loss series.
    maps_ : dict of str -> ScoreMap
        Stage-2 map per benchmark.
    """

    name = "flp"

    def __init__(
        self,
        stage2: str = "linear",
        stage1: str = "offset",
        loss: str = "auto",
        emerged_margin: float | None = DEFAULT_EMERGED_MARGIN,
        guess_rates: Mapping[str, float] | None = None,
        final_last_k: int = 1,
        sigmoid_anchors: bool = True,
    ) -> None:
        self.stage2 = stage2
        self.stage1 = stage1
        self.loss = loss
        self.emerged_margin = emerged_margin
        self.guess_rates = guess_rates
        self.final_last_k = final_last_k
        self.sigmoid_anchors = sigmoid_anchors

    def _points(self, ladder: Ladder) -> dict[str, StagePoints]:
        _check_choice("stage2", self.stage2, STAGE2_FORMS)
        _check_choice("stage1", self.stage1, STAGE1_FORMS)
        return stage_points(
            ladder,
            loss=self.loss,
            emerged_margin=self.emerged_margin,
            guess_rates=self.guess_rates,
            final_last_k=self.final_last_k,
            method=self.name,
        )

    def fit(self, ladder: Ladder) -> Self:
        """Fit both stages on ``ladder``'s checkpoints and return ``self``."""
        points = self._points(ladder)
        laws: dict[str, LossLaw] = {}
        maps: dict[str, ScoreMap] = {}
        for bench, pts in points.items():
            if pts.series not in laws:
                laws[pts.series] = _stage1(pts, self.stage1, self.name)
            anchor = pts.max_loss if (self.stage2 == "sigmoid" and self.sigmoid_anchors) else None
            maps[bench] = fit_score_map(
                pts.checkpoints["loss"],
                pts.checkpoints["score"],
                self.stage2,
                guess_rate=pts.guess_rate,
                anchor_loss=anchor,
            )
        self.points_, self.laws_, self.maps_ = points, laws, maps
        self.ladder_ = ladder
        return self

    def predict_loss(self, target_flops: float | Sequence[float] | np.ndarray) -> pd.DataFrame:
        """Stage-1 predicted loss per benchmark (rows) and target compute (columns)."""
        self._check_fitted()
        flops = as_flops(target_flops)
        data = {b: self.laws_[p.series](flops) for b, p in self.points_.items()}
        return pd.DataFrame(data, index=flops).T

    def predict(self, target_flops: float | Sequence[float] | np.ndarray) -> Prediction:
        """Point prediction of every benchmark's score at the target compute(s)."""
        self._check_fitted()
        flops = as_flops(target_flops)
        points = {}
        for bench, pts in self.points_.items():
            loss = self.laws_[pts.series](flops)
            points[bench] = np.clip(self.maps_[bench](loss), 0.0, 1.0)
        return Prediction.from_points(self.name, flops, points)

    def summary(self) -> pd.DataFrame:
        """Fitted parameters per benchmark (stage-1 law and stage-2 map)."""
        self._check_fitted()
        rows = []
        for bench, pts in self.points_.items():
            law, smap = self.laws_[pts.series], self.maps_[bench]
            row: dict[str, Any] = {
                "benchmark": bench,
                "loss": pts.variant,
                "a": law.a,
                "b": law.b,
                "e": law.e,
                "stage1_rmse_log": law.rmse,
                "stage2": smap.form,
                "stage2_points": smap.n,
                "stage2_rmse": smap.rmse,
                "emerged_filter": pts.filtered,
            }
            row.update({f"s2_{k}": v for k, v in smap.params.items()})
            rows.append(row)
        return pd.DataFrame(rows).set_index("benchmark")


# ============================================================================ Bayesian FLP
class FLPBayes(FLP):
    """FLP with both stages fitted jointly in PyMC; stage-1 uncertainty reaches the score.

    Model, per loss series ``s`` and benchmark ``j`` (``x = C / C0_s`` with ``C0_s`` the geometric
    mean of the fitted computes, ``z`` the standardised loss of the benchmark's checkpoints):

    * stage 1: ``log L_si ~ Normal(log(e_s + a_s x_si^-b_s), sigma1_s)``, parameterised by the
      level ``m0_s ~ LogNormal(log median(L_s), 0.5)`` and log-log slope
      ``slope_s ~ LogNormal(log slope_hat_s, 1)`` at ``x = 1`` and the curvature
      ``f_s = e_s / m0_s ~ Beta(1, 1)``: ``e = f m0``, ``a = (1 - f) m0``, ``b = slope / (1 - f)``
      (``f = 0`` for ``stage1="pure"``); ``sigma1_s ~ HalfNormal(0.05)``.  Level and slope are
      well identified, the curvature is not; the naive ``(a, b, e)`` form diverged.
    * stage 2 linear: ``P ~ Normal(w0 + w1 z, sigma2)``, ``w0 ~ Normal(mean P, 0.5)``,
      ``w1 ~ Normal(0, 0.5)``.  Sigmoid: ``P ~ Normal(lo + (hi - lo) expit(-k (z - z0)), sigma2)``
      with ``lo`` = the guess rate, ``hi = lo + span``, ``span ~ LogNormal(log(1 - lo), 0.1)``,
      and ``k, z0`` given by the level ``expit(t0)``, ``t0 ~ Normal(t_hat, 1.5)``, and slope
      ``s2 ~ LogNormal(log slope_hat, 1)`` of the curve at ``z = 0``; AI2's anchors as two
      observations with sd :data:`ANCHOR_SD`.  ``sigma2 ~ HalfNormal(0.05)``.

    Prediction: for every posterior draw the target's loss ``e + a x^-b`` (times
    ``exp(sigma1 eps)`` when ``noise``), mapped through that draw's stage 2 (plus
    ``sigma2 eps`` when ``noise``), clipped to [0, 1].  Checkpoints along one run are
    autocorrelated, so stage 2's posterior is narrower than its real uncertainty.

    Parameters
    ----------
    stage2, stage1, loss, emerged_margin, guess_rates, final_last_k, sigmoid_anchors
        As in :class:`FLP`; the sigmoid's anchor points enter the likelihood as two more
        observations with standard deviation :data:`ANCHOR_SD` (without them the upper
        asymptote is barely identified).
    noise : bool, default True
        Posterior predictive of an observed score (residual noise of both stages) rather than
        of the mean curve.
    draws, tune, chains : int
        MCMC settings (default 500, 500, 2).
    seed : int, optional
        Random seed.
    progressbar : bool, default False
        Show PyMC's progress bar.
    nuts_sampler : str, default "pymc"
        Passed to :func:`pymc.sample` (``"nutpie"`` compiles longer but samples faster).
    target_accept : float, default 0.9
        NUTS target acceptance rate.

    Attributes
    ----------
    idata_ : xarray.DataTree
        The posterior.
    diagnostics_ : dict
        ``max_rhat``, ``min_ess_bulk``, ``divergences``.
    """

    name = "flp-bayes"

    def __init__(
        self,
        stage2: str = "linear",
        stage1: str = "offset",
        loss: str = "auto",
        emerged_margin: float | None = DEFAULT_EMERGED_MARGIN,
        guess_rates: Mapping[str, float] | None = None,
        final_last_k: int = 1,
        sigmoid_anchors: bool = True,
        noise: bool = True,
        draws: int = 500,
        tune: int = 500,
        chains: int = 2,
        seed: int | None = None,
        progressbar: bool = False,
        nuts_sampler: str = "pymc",
        target_accept: float = 0.9,
    ) -> None:
        self.stage2 = stage2
        self.stage1 = stage1
        self.loss = loss
        self.emerged_margin = emerged_margin
        self.guess_rates = guess_rates
        self.final_last_k = final_last_k
        self.sigmoid_anchors = sigmoid_anchors
        self.noise = noise
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.seed = seed
        self.progressbar = progressbar
        self.nuts_sampler = nuts_sampler
        self.target_accept = target_accept

    def fit(self, ladder: Ladder) -> Self:
        """Sample the joint posterior of both stages and return ``self``."""
        import pymc as pm

        points = self._points(ladder)
        series = list(dict.fromkeys(p.series for p in points.values()))
        benches = list(points)
        s_of = {s: i for i, s in enumerate(series)}
        # stage-1 data per series
        first = {p.series: p for p in reversed(points.values())}
        s1_idx, s1_x, s1_y, c0, l_mid, slopes = [], [], [], [], [], []
        for i, s in enumerate(series):
            fin = first[s].final
            c = fin["flops"].to_numpy(float)
            y = fin["loss"].to_numpy(float)
            c_ref = float(np.exp(np.mean(np.log(c))))
            c0.append(c_ref)
            l_mid.append(float(np.median(y)))
            slopes.append(max(-float(np.polyfit(np.log(c / c_ref), np.log(y), 1)[0]), 1e-3))
            s1_idx += [i] * len(c)
            s1_x += list(c / c_ref)
            s1_y += list(y)
        # stage-2 data per benchmark (standardised loss)
        s2_idx, s2_z, s2_y, z_mu, z_sd, y_mu, guess = [], [], [], [], [], [], []
        slope_hat: list[float] = []
        an_idx: list[int] = []
        an_z: list[float] = []
        an_y: list[float] = []
        t_hat: list[float] = []
        for j, b in enumerate(benches):
            pts = points[b].checkpoints
            x = pts["loss"].to_numpy(float)
            mu, sd = float(x.mean()), float(x.std()) or 1.0
            z_mu.append(mu)
            z_sd.append(sd)
            s2_idx += [j] * len(x)
            s2_z += list((x - mu) / sd)
            s2_y += list(pts["score"].to_numpy(float))
            if self.stage2 == "sigmoid" and self.sigmoid_anchors:  # AI2's two anchor points
                an_idx += [j, j]
                an_z += [(0.0 - mu) / sd, (points[b].max_loss - mu) / sd]
                an_y += [1.0, points[b].guess_rate]
            y_mu.append(float(pts["score"].mean()))
            y_c = np.clip(pts["score"].to_numpy(float), 1e-3, 1 - 1e-3)
            slope_hat.append(max(-float(np.polyfit((x - mu) / sd, y_c, 1)[0]), 1e-3))
            frac = (float(np.mean(y_c)) - points[b].guess_rate) / (1 - points[b].guess_rate)
            t_hat.append(float(np.log(np.clip(frac, 0.02, 0.98) / (1 - np.clip(frac, 0.02, 0.98)))))
            guess.append(points[b].guess_rate)
        s1_idx_a, s2_idx_a = np.array(s1_idx), np.array(s2_idx)
        coords = {"series": series, "benchmark": benches}
        with pm.Model(coords=coords) as model:
            # level m0 and log-log slope at the centre are well identified; the curvature
            # (f = e / m0) is not, and is the part of stage 1 that matters when extrapolating
            m0 = pm.LogNormal("m0", mu=np.log(l_mid), sigma=0.5, dims="series")
            slope = pm.LogNormal("slope", mu=np.log(slopes), sigma=1.0, dims="series")
            if self.stage1 == "offset":
                f = pm.Beta("f", 1.0, 1.0, dims="series")
            else:
                f = pm.math.zeros(len(series))
            e = pm.Deterministic("e", f * m0, dims="series")
            a = pm.Deterministic("a", (1.0 - f) * m0, dims="series")
            b = pm.Deterministic("b", slope / (1.0 - f), dims="series")
            sigma1 = pm.HalfNormal("sigma1", 0.05, dims="series")
            mu1 = pm.math.log(e[s1_idx_a] + a[s1_idx_a] * np.array(s1_x) ** (-b[s1_idx_a]))
            pm.Normal("log_loss", mu=mu1, sigma=sigma1[s1_idx_a], observed=np.log(s1_y))
            sigma2 = pm.HalfNormal("sigma2", 0.05, dims="benchmark")
            z = np.array(s2_z)
            if self.stage2 == "linear":
                w0 = pm.Normal("w0", mu=np.array(y_mu), sigma=0.5, dims="benchmark")
                w1 = pm.Normal("w1", 0.0, 0.5, dims="benchmark")
                mu2 = w0[s2_idx_a] + w1[s2_idx_a] * z
            else:
                # level q0 and slope s2 of the curve at the centre of the data are well
                # identified; k and z0 follow from them
                lo = pm.Deterministic("lo", pm.math.constant(np.array(guess)), dims="benchmark")
                # upper asymptote centred on 1 (AI2's belief) but not bounded by it: a bound at
                # the truth would bias every draw below it
                span = pm.LogNormal(
                    "span", mu=np.log(1.0 - np.array(guess)), sigma=0.1, dims="benchmark"
                )
                hi = pm.Deterministic("hi", lo + span, dims="benchmark")
                t0 = pm.Normal("t0", mu=np.array(t_hat), sigma=1.5, dims="benchmark")
                s2 = pm.LogNormal("s2", mu=np.log(slope_hat), sigma=1.0, dims="benchmark")
                q0 = pm.math.sigmoid(t0)
                k = pm.Deterministic("k", s2 / ((hi - lo) * q0 * (1 - q0)), dims="benchmark")
                z0 = pm.Deterministic("z0", t0 / k, dims="benchmark")

                def curve(idx: np.ndarray, zz: np.ndarray) -> Any:
                    return lo[idx] + (hi - lo)[idx] * pm.math.sigmoid(-k[idx] * (zz - z0[idx]))

                mu2 = curve(s2_idx_a, z)
                if an_idx:  # soft anchors: a fixed sd keeps them from fighting the noise scale
                    an = np.array(an_idx)
                    pm.Normal(
                        "anchor",
                        mu=curve(an, np.array(an_z)),
                        sigma=ANCHOR_SD,
                        observed=np.array(an_y),
                    )
            pm.Normal("score", mu=mu2, sigma=sigma2[s2_idx_a], observed=np.array(s2_y))
            with reproducible():
                idata = pm.sample(
                    draws=self.draws,
                    tune=self.tune,
                    chains=self.chains,
                    cores=1,
                    random_seed=self.seed,
                    progressbar=self.progressbar,
                    quiet=not self.progressbar,  # no progress: no PyMC log lines either
                    nuts_sampler=self.nuts_sampler,
                    target_accept=self.target_accept,
                    compute_convergence_checks=False,
                )
        self.model_ = model
        self.idata_ = idata
        self.points_ = points
        self.series_ = series
        self.series_index_ = {b: s_of[points[b].series] for b in benches}
        self.c0_ = np.array(c0)
        self.z_scale_ = {b: (z_mu[j], z_sd[j]) for j, b in enumerate(benches)}
        self.diagnostics_ = _diagnostics(idata, [rv.name for rv in model.free_RVs])
        self.ladder_ = ladder
        return self

    def _posterior(self) -> dict[str, np.ndarray]:
        post = self.idata_.posterior.to_dataset()
        out = {}
        for name in post.data_vars:
            arr = post[name].to_numpy()
            out[name] = arr.reshape(arr.shape[0] * arr.shape[1], *arr.shape[2:])
        return out

    def predict(self, target_flops: float | Sequence[float] | np.ndarray) -> Prediction:
        """Posterior predictive score draws at the target compute(s)."""
        self._check_fitted()
        flops = as_flops(target_flops)
        post = self._posterior()
        rng = np.random.default_rng(self.seed)
        n = post["a"].shape[0]
        draws = np.empty((len(self.points_), flops.size, n))
        for j, bench in enumerate(self.points_):
            s = self.series_index_[bench]
            x = flops[:, None] / self.c0_[s]
            loss = post["e"][None, :, s] + post["a"][None, :, s] * x ** (-post["b"][None, :, s])
            if self.noise:
                loss = loss * np.exp(post["sigma1"][None, :, s] * rng.standard_normal(loss.shape))
            mu, sd = self.z_scale_[bench]
            z = (loss - mu) / sd
            if self.stage2 == "linear":
                score = post["w0"][None, :, j] + post["w1"][None, :, j] * z
            else:
                lo, hi = post["lo"][None, :, j], post["hi"][None, :, j]
                arg = -post["k"][None, :, j] * (z - post["z0"][None, :, j])
                score = lo + (hi - lo) / (1.0 + np.exp(-np.clip(arg, -50, 50)))
            if self.noise:
                score = score + post["sigma2"][None, :, j] * rng.standard_normal(score.shape)
            draws[j] = np.clip(score, 0.0, 1.0)
        return Prediction(
            method=self.name,
            target_flops=flops,
            benchmarks=list(self.points_),
            draws=draws,
            diagnostics=self.diagnostics_,
            seed=self.seed,
        )

    def summary(self) -> pd.DataFrame:  # type: ignore[override]
        """Posterior means of the parameters per benchmark."""
        self._check_fitted()
        post = self._posterior()
        rows = []
        for j, (bench, pts) in enumerate(self.points_.items()):
            s = self.series_index_[bench]
            row: dict[str, Any] = {"benchmark": bench, "loss": pts.variant}
            for name in ("a", "b", "e", "sigma1"):
                row[name] = float(post[name][:, s].mean())
            for name in ("w0", "w1", "lo", "hi", "k", "z0", "sigma2"):
                if name in post:
                    row[name] = float(post[name][:, j].mean())
            rows.append(row)
        return pd.DataFrame(rows).set_index("benchmark")


def _diagnostics(idata: Any, var_names: Sequence[str]) -> dict[str, float]:
    """``max_rhat``, ``min_ess_bulk``, ``divergences`` of a PyMC fit (over ``var_names``)."""
    import arviz as az

    post = idata.posterior.to_dataset()[list(var_names)]
    out = {"max_rhat": float("nan"), "min_ess_bulk": float("nan"), "divergences": float("nan")}
    try:
        if post.sizes.get("chain", 1) > 1:
            rhat = az.rhat(post)
            out["max_rhat"] = float(max(float(np.nanmax(v.to_numpy())) for v in rhat.values()))
        ess = az.ess(post, method="bulk")
        out["min_ess_bulk"] = float(min(float(np.nanmin(v.to_numpy())) for v in ess.values()))
    except Exception:  # pragma: no cover - diagnostics must never break a fit
        pass
    try:
        stats = idata.sample_stats.to_dataset()
        out["divergences"] = float(stats["diverging"].to_numpy().sum())
    except Exception:  # pragma: no cover
        pass
    return out
