"""Synthetic ladders with a known truth.

The simulator draws item-level evaluations of a ladder of models from an item-response model that
the COD law only approximates, so that every stage of codbayes (and its calibration) can be checked
against the exact expected score of any model.  The generative model is documented in
``docs/simulation.md``; in short, for item ``p`` of benchmark ``k`` and a model with training
compute ``C`` (FLOPs):

* the model's **effective compute** is ``x = log10 C + delta_m + delta_mk - e_mp``: a model-level
  offset ``delta_m ~ N(0, sigma_rung)`` shared by all benchmarks, a (model, benchmark) offset
  ``delta_mk ~ N(0, sigma_benchmark)`` and a small (model, item) jitter ``e_mp ~ N(0, sigma_item)``
  (seed-to-seed noise within a family);
* a **regular** item passes with probability ``g_k + (u_p - g_k) * r(x)`` (difficulty ``d_p`` in
  log10 FLOPs, discrimination ``s_p`` per dex, ceiling ``u_p <= 1``, guess rate ``g_k``), where
  the response ``r`` is either ``"loss"`` (default): ``exp(-L_p)`` with a power-law answer loss
  ``L_p = ln 2 * 10^(-beta_p (x - d_p))``, ``beta_p = s_p / (2 ln 2 ln 10)`` (the COD paper's own
  motivation; cluster means follow the COD law only approximately), or ``"logistic"``:
  ``sigmoid(s_p (x - d_p))``, a shape the COD law cannot follow (a misspecification check).
  Both reach half the item's range at ``x = d_p`` with the same slope there;
* a **noisy** item (a small fraction) passes with probability
  ``g_k + (u_p - g_k) * sigmoid(l_p + A_p * sin(2 pi (x - x_0) / T_p + phi_p))``, which wanders
  with compute;
* the observed pass rate is ``Binomial(n, p) / n`` with ``n`` samples per item.

Anchors (role ``"anchor"``) are models of another family with their own offsets and a larger item
jitter, evaluated on the same items.

Everything is deterministic given the seed: item parameters, offsets, jitter and binomial draws use
independent streams keyed by ``(seed, component, benchmark name)``, so e.g. changing the number of
samples leaves the item parameters unchanged.

Examples
--------
>>> sim = simulate_ladder(small_config(), seed=0)
>>> sim.ladder.ladder_models[:2]
['ladder-1-577M', 'ladder-2-1.3B']
>>> bool(sim.true_score("easy", 1e23) > sim.true_score("easy", 1e21))
True
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import expit

from codbayes.data.ladder import BenchmarkResults, Ladder

__all__ = [
    "PAPER_TARGET_FLOPS",
    "AnchorSpec",
    "BenchmarkSpec",
    "SampledModel",
    "SimulatedLadder",
    "SimulationConfig",
    "log_spaced_flops",
    "paper_scale_config",
    "simulate_ladder",
    "small_config",
]

PAPER_TARGET_FLOPS = 3.8e24
RESPONSES = ("loss", "logistic")
"""Training compute of the paper's 70B target model (27x the top rung)."""

WANDER_ORIGIN = 19.0
"""Reference log10-compute ``x_0`` of the noisy items' oscillation."""

_KIND_REGULAR, _KIND_NOISY = "regular", "noisy"

# independent random streams, keyed by component
_STREAM_ITEMS, _STREAM_OFFSETS, _STREAM_JITTER, _STREAM_BINOMIAL, _STREAM_SAMPLE = range(5)
_MAX_BLOCK = 4_000_000  # largest (items x computes x nodes) block evaluated at once


# ---------------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class BenchmarkSpec:
    """Generative parameters of one benchmark.

    Parameters
    ----------
    name : str
        Benchmark name.
    n_items : int
        Number of items.
    guess_rate : float, default 0.0
        Random-guess accuracy ``g_k`` (0 for open-ended answers, 0.25 for four options); every
        item's pass probability is at least this.
    difficulty_mean, difficulty_sd : float, default 23.5, 1.3
        Item difficulties ``d_p ~ N(difficulty_mean, difficulty_sd)``, in log10 FLOPs: the
        effective compute at which a regular item is halfway between guess and ceiling.
    discrimination_median, discrimination_sd : float, default 2.0, 0.4
        Discrimination ``s_p ~ LogNormal(log(discrimination_median), discrimination_sd)``, the
        logistic slope per dex of compute.
    capped_fraction : float, default 0.08
        Share of regular items with a ceiling below 1 (label noise, ambiguous answers).
    ceiling_range : tuple of float, default (0.1, 0.9)
        A capped item's ceiling is ``g + (1 - g) * U(*ceiling_range)``.
    noisy_fraction : float, default 0.05
        Share of noisy (non-monotone) items.
    noisy_level_sd, noisy_amplitude_sd : float, default 1.5, 1.5
        Noisy items: ``l_p ~ N(0, noisy_level_sd)``, ``A_p = |N(0, noisy_amplitude_sd)|``.
    noisy_period : tuple of float, default (1.0, 4.0)
        Noisy items: oscillation period ``T_p ~ U(*noisy_period)`` in dex; phase ``U(0, 2 pi)``.
    """

    name: str
    n_items: int
    guess_rate: float = 0.0
    difficulty_mean: float = 23.5
    difficulty_sd: float = 1.3
    discrimination_median: float = 2.0
    discrimination_sd: float = 0.4
    capped_fraction: float = 0.08
    ceiling_range: tuple[float, float] = (0.1, 0.9)
    noisy_fraction: float = 0.05
    noisy_level_sd: float = 1.5
    noisy_amplitude_sd: float = 1.5
    noisy_period: tuple[float, float] = (1.0, 4.0)

    def __post_init__(self) -> None:
        if self.n_items < 1:
            raise ValueError(f"{self.name}: n_items must be >= 1, got {self.n_items}")
        if not 0.0 <= self.guess_rate < 1.0:
            raise ValueError(f"{self.name}: guess_rate must be in [0, 1), got {self.guess_rate}")
        for frac in ("capped_fraction", "noisy_fraction"):
            if not 0.0 <= getattr(self, frac) <= 1.0:
                raise ValueError(f"{self.name}: {frac} must be in [0, 1]")
        if self.capped_fraction + self.noisy_fraction > 1.0:
            raise ValueError(f"{self.name}: capped_fraction + noisy_fraction must be <= 1")
        lo, hi = self.ceiling_range
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"{self.name}: ceiling_range must satisfy 0 <= lo <= hi <= 1")
        if self.difficulty_sd < 0 or self.discrimination_sd < 0 or self.discrimination_median <= 0:
            raise ValueError(f"{self.name}: spreads must be >= 0 and the median slope > 0")


@dataclass(frozen=True)
class AnchorSpec:
    """An external model of another family (role ``"anchor"``), e.g. the paper's Qwen2-72B.

    Parameters
    ----------
    name : str, default "anchor-72B"
        Model name.
    params, tokens : float, default 72e9, 7e12
        Parameters and training tokens; compute is ``6 * params * tokens``.
    family : str, default "anchor"
        Model family.
    offset : float, default 0.3
        Effective-compute offset (dex) of the family relative to the ladder's.
    sigma_benchmark : float, default 0.15
        SD of an extra per-benchmark offset ``N(0, sigma_benchmark)``.
    sigma_item : float, default 0.3
        SD of the per-item difficulty jitter (the family ranks items differently).
    """

    name: str = "anchor-72B"
    params: float = 72e9
    tokens: float = 7e12
    family: str = "anchor"
    offset: float = 0.3
    sigma_benchmark: float = 0.15
    sigma_item: float = 0.3

    @property
    def flops(self) -> float:
        """Training compute ``6 * params * tokens``."""
        return 6.0 * self.params * self.tokens


@dataclass(frozen=True)
class SimulationConfig:
    """All generative parameters of a simulated ladder.

    Parameters
    ----------
    benchmarks : tuple of BenchmarkSpec
        The benchmarks.
    rung_flops : tuple of float
        Training compute of the ladder rungs (role ``"ladder"``), ascending.
    samples_per_item : int, default 100
        Binomial samples behind each pass rate (1 = a single greedy answer).
    sigma_rung : float, default 0.07
        SD (dex) of a model's effective-compute offset ``delta_m``, shared by all its items.
    sigma_benchmark : float, default 0.03
        SD (dex) of the extra (model, benchmark) offset ``delta_mk``.
    sigma_item : float, default 0.1
        SD (dex) of the (model, item) jitter ``e_mp`` within the ladder's family.
    tokens_per_param : float, default 20.0
        Rungs get ``tokens = tokens_per_param * params`` and ``6 * params * tokens = flops``.
    family : str, default "sim"
        Family of the rungs and of sampled targets.
    anchors : tuple of AnchorSpec, default (AnchorSpec(),)
        External anchor models.
    target_flops : float, default 3.8e24
        The compute a backtest should predict (informational; draw the target with
        :meth:`SimulatedLadder.sample_model`).
    quadrature_nodes : int, default 40
        Gauss-Hermite nodes used to integrate over offsets and jitter in the expected scores.
    response : {"loss", "logistic"}, default "loss"
        Item response curve of regular items (see the module docstring): ``"loss"`` is the
        power-law-loss model behind the COD law, ``"logistic"`` a logistic curve in log-compute.
    name : str, default "simulated"
        Label of the ladder.
    """

    benchmarks: tuple[BenchmarkSpec, ...]
    rung_flops: tuple[float, ...]
    samples_per_item: int = 100
    sigma_rung: float = 0.07
    sigma_benchmark: float = 0.03
    sigma_item: float = 0.1
    tokens_per_param: float = 20.0
    family: str = "sim"
    anchors: tuple[AnchorSpec, ...] = (AnchorSpec(),)
    target_flops: float = PAPER_TARGET_FLOPS
    quadrature_nodes: int = 40
    response: str = "loss"
    name: str = "simulated"

    def __post_init__(self) -> None:
        names = [b.name for b in self.benchmarks]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"benchmark names must be non-empty and unique, got {names}")
        flops = np.asarray(self.rung_flops, dtype=float)
        if flops.size < 1 or np.any(flops <= 0) or np.any(np.diff(flops) <= 0):
            raise ValueError("rung_flops must be positive and strictly increasing")
        if self.samples_per_item < 1:
            raise ValueError(f"samples_per_item must be >= 1, got {self.samples_per_item}")
        if min(self.sigma_rung, self.sigma_benchmark, self.sigma_item) < 0:
            raise ValueError("sigma_rung, sigma_benchmark and sigma_item must be >= 0")
        if self.quadrature_nodes < 1:
            raise ValueError("quadrature_nodes must be >= 1")
        if self.response not in RESPONSES:
            raise ValueError(f"response must be one of {RESPONSES}, got {self.response!r}")

    def benchmark(self, name: str) -> BenchmarkSpec:
        """The spec of benchmark ``name``."""
        for spec in self.benchmarks:
            if spec.name == name:
                return spec
        raise KeyError(f"unknown benchmark {name!r}; have {[b.name for b in self.benchmarks]}")


def log_spaced_flops(low: float, high: float, n: int) -> tuple[float, ...]:
    """``n`` computes log-spaced from ``low`` to ``high`` (inclusive)."""
    return tuple(float(c) for c in np.logspace(np.log10(low), np.log10(high), n))


# (name, items, guess rate, difficulty mean, difficulty sd)
_PAPER_BENCHMARKS = (
    ("GSM8K", 1319, 0.0, 24.1, 1.5),
    ("MATH", 5000, 0.0, 26.2, 1.4),
    ("BBH", 6511, 0.1, 23.9, 2.9),
    ("TriviaQA", 17944, 0.0, 22.0, 1.8),
    ("MBPP", 500, 0.0, 24.2, 2.8),
    ("AGIEval", 8063, 0.2, 24.9, 2.4),
    ("DROP", 9536, 0.0, 23.0, 2.5),
    ("MMLU-pro", 12032, 0.1, 25.3, 1.9),
)


def paper_scale_config(**overrides: object) -> SimulationConfig:
    """The paper's setting: 8 benchmarks (500-17944 items), 8 rungs 4e19..1.4e23, 100 samples.

    Parameters
    ----------
    **overrides
        Fields of :class:`SimulationConfig` to replace (e.g. ``samples_per_item=1``).
    """
    benches = tuple(
        BenchmarkSpec(n, k, guess_rate=g, difficulty_mean=m, difficulty_sd=s)
        for n, k, g, m, s in _PAPER_BENCHMARKS
    )
    base = SimulationConfig(benchmarks=benches, rung_flops=log_spaced_flops(4e19, 1.4e23, 8))
    return _replace(base, overrides)


def small_config(**overrides: object) -> SimulationConfig:
    """A small ladder for tests: 2 benchmarks x 300 items, 6 rungs 4e19..1.4e23, one anchor.

    ``"easy"`` (open-ended) is mostly learnt within the ladder; ``"hard"`` (4 options, guess rate
    0.25) mostly emerges above it.
    """
    benches = (
        BenchmarkSpec("easy", 300, guess_rate=0.0, difficulty_mean=22.0, difficulty_sd=1.2),
        BenchmarkSpec("hard", 300, guess_rate=0.25, difficulty_mean=24.0, difficulty_sd=1.2),
    )
    base = SimulationConfig(benchmarks=benches, rung_flops=log_spaced_flops(4e19, 1.4e23, 6))
    return _replace(base, overrides)


def _replace(config: SimulationConfig, overrides: Mapping[str, object]) -> SimulationConfig:
    from dataclasses import replace

    return replace(config, **overrides) if overrides else config


# ---------------------------------------------------------------------------------- item model
@dataclass(frozen=True, eq=False)
class _ItemArrays:
    """Item parameters of one benchmark as flat arrays (NaNs replaced by neutral values)."""

    guess: float
    noisy: np.ndarray
    difficulty: np.ndarray
    discrimination: np.ndarray
    ceiling: np.ndarray
    level: np.ndarray
    amplitude: np.ndarray
    period: np.ndarray
    phase: np.ndarray
    response: str = "loss"

    @classmethod
    def from_frame(cls, items: pd.DataFrame, guess: float, response: str = "loss") -> _ItemArrays:
        def col(name: str, fill: float) -> np.ndarray:
            return items[name].fillna(fill).to_numpy(dtype=float)

        return cls(
            guess=float(guess),
            noisy=(items["kind"] == _KIND_NOISY).to_numpy(),
            difficulty=col("difficulty", 0.0),
            discrimination=col("discrimination", 0.0),
            ceiling=col("ceiling", 1.0),
            level=col("level", 0.0),
            amplitude=col("amplitude", 0.0),
            period=col("period", 1.0),
            phase=col("phase", 0.0),
            response=response,
        )

    def pass_probability(self, x: np.ndarray) -> np.ndarray:
        """Pass probability at effective log10-compute ``x`` (leading axis = items)."""
        x = np.asarray(x, dtype=float)
        extra = (1,) * (x.ndim - 1)

        def item(a: np.ndarray) -> np.ndarray:
            return a.reshape(a.shape + extra)

        z = item(self.discrimination) * (x - item(self.difficulty))
        if self.response == "loss":
            beta = z / (2 * np.log(2) * np.log(10))
            regular = np.exp(-np.log(2) * np.power(10.0, -np.minimum(beta, 30.0)))
        else:
            regular = expit(z)
        wander = expit(
            item(self.level)
            + item(self.amplitude)
            * np.sin(2 * np.pi * (x - WANDER_ORIGIN) / item(self.period) + item(self.phase))
        )
        r = np.where(item(self.noisy), wander, regular)
        return self.guess + (item(self.ceiling) - self.guess) * r


def _draw_items(spec: BenchmarkSpec, rng: np.random.Generator) -> pd.DataFrame:
    """Draw the true item parameters of one benchmark."""
    n, g = spec.n_items, spec.guess_rate
    u = rng.random(n)
    noisy = u < spec.noisy_fraction
    capped = (u >= spec.noisy_fraction) & (u < spec.noisy_fraction + spec.capped_fraction)
    difficulty = rng.normal(spec.difficulty_mean, spec.difficulty_sd, n)
    discrimination = np.exp(
        rng.normal(np.log(spec.discrimination_median), spec.discrimination_sd, n)
    )
    lo, hi = spec.ceiling_range
    ceiling = np.where(capped, g + (1 - g) * rng.uniform(lo, hi, n), 1.0)
    level = rng.normal(0.0, spec.noisy_level_sd, n)
    amplitude = np.abs(rng.normal(0.0, spec.noisy_amplitude_sd, n))
    period = rng.uniform(*spec.noisy_period, n)
    phase = rng.uniform(0.0, 2 * np.pi, n)
    kind = np.where(noisy, _KIND_NOISY, _KIND_REGULAR)
    nan = np.full(n, np.nan)
    frame = pd.DataFrame(
        {
            "kind": kind,
            "capped": capped,
            "difficulty": np.where(noisy, nan, difficulty),
            "discrimination": np.where(noisy, nan, discrimination),
            "ceiling": ceiling,
            "level": np.where(noisy, level, nan),
            "amplitude": np.where(noisy, amplitude, nan),
            "period": np.where(noisy, period, nan),
            "phase": np.where(noisy, phase, nan),
        },
        index=pd.Index([f"{spec.name}-{i:05d}" for i in range(n)], name="item"),
    )
    return frame


def _expected_mean(arrays: _ItemArrays, x: np.ndarray, sd: float, nodes: int) -> np.ndarray:
    """Mean over items of ``E[p(x + Z)]``, ``Z ~ N(0, sd)``, for each entry of ``x`` (1-D)."""
    if sd <= 0:
        z, w = np.zeros(1), np.ones(1)
    else:
        z, w = hermegauss(nodes)
        w = w / w.sum()
    n_items = arrays.noisy.size
    out = np.empty(x.size)
    step = max(1, _MAX_BLOCK // max(1, n_items * z.size))
    for start in range(0, x.size, step):
        xs = x[start : start + step]
        grid = xs[None, :, None] + sd * z[None, None, :]
        p = arrays.pass_probability(np.broadcast_to(grid, (n_items, *grid.shape[1:])))
        out[start : start + step] = p.mean(axis=0) @ w
    return out


# ---------------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class SampledModel:
    """A fresh model drawn from the simulator (e.g. the target of a backtest).

    Attributes
    ----------
    ladder : Ladder
        A one-model ladder (role ``"ladder"``) with its item-level results on every benchmark.
    offset : float
        The drawn model-level effective-compute offset ``delta_m`` (dex).
    offsets : pandas.Series
        Total offset ``delta_m + delta_mk`` per benchmark.
    scores : pandas.Series
        Realised full-benchmark score per benchmark (mean observed pass rate).
    true_scores : pandas.Series
        Expected score per benchmark given the drawn offsets and jitter (before binomial noise).
    """

    ladder: Ladder
    offset: float
    offsets: pd.Series
    scores: pd.Series
    true_scores: pd.Series

    @property
    def name(self) -> str:
        """The model's name."""
        return str(self.ladder.models.index[0])


@dataclass(frozen=True, eq=False)
class SimulatedLadder:
    """A simulated ladder with its generating truth.

    Attributes
    ----------
    config : SimulationConfig
        The generative parameters.
    seed : int
        The seed it was drawn with.
    ladder : Ladder
        The observed data: rungs (role ``"ladder"``) and anchors (role ``"anchor"``).
    items : dict of str to pandas.DataFrame
        True item parameters per benchmark, index ``item``; columns ``kind`` (``"regular"`` or
        ``"noisy"``), ``capped``, ``difficulty``, ``discrimination``, ``ceiling``, ``level``,
        ``amplitude``, ``period``, ``phase`` (NaN where a column does not apply to the kind).
    offsets : pandas.DataFrame
        Total effective-compute offset (dex) of every model on every benchmark, model x benchmark.
    model_true_scores : pandas.DataFrame
        Expected score of every model on every benchmark given all its latent draws (offsets and
        item jitter), i.e. the observed score minus pure binomial noise; model x benchmark.
    """

    config: SimulationConfig
    seed: int
    ladder: Ladder
    items: dict[str, pd.DataFrame]
    offsets: pd.DataFrame
    model_true_scores: pd.DataFrame
    _arrays: dict[str, _ItemArrays] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ truth
    @property
    def benchmark_names(self) -> list[str]:
        """Benchmark names, in config order."""
        return [b.name for b in self.config.benchmarks]

    @property
    def target_flops(self) -> float:
        """The configured target compute."""
        return self.config.target_flops

    def _items(self, benchmark: str) -> _ItemArrays:
        if benchmark not in self._arrays:
            spec = self.config.benchmark(benchmark)
            self._arrays[benchmark] = _ItemArrays.from_frame(
                self.items[benchmark], spec.guess_rate, self.config.response
            )
        return self._arrays[benchmark]

    def true_score(self, benchmark: str, flops: object, offset: object = 0.0) -> np.ndarray | float:
        """Expected full-benchmark score of a ladder-family model at compute ``flops``.

        The expectation is over the family's item jitter (``sigma_item``) and the binomial
        sampling, for a model whose total effective-compute offset is ``offset``.

        Parameters
        ----------
        benchmark : str
            Benchmark name.
        flops : float or array_like
            Training compute (FLOPs, > 0).
        offset : float or array_like, default 0.0
            The model's effective-compute offset (dex), broadcast against ``flops``.

        Returns
        -------
        float or numpy.ndarray
            Score(s) in ``[guess_rate, 1]``, shaped like ``broadcast(flops, offset)``.
        """
        return self._curve(benchmark, flops, offset, self.config.sigma_item)

    def expected_target_score(self, benchmark: str, flops: object) -> np.ndarray | float:
        """Expected score of a *fresh* ladder-family model at ``flops`` (offset unknown).

        Integrates :meth:`true_score` over the offset distribution
        ``N(0, sigma_rung^2 + sigma_benchmark^2)`` by Gauss-Hermite quadrature (deterministic).
        """
        c = self.config
        sd = float(np.sqrt(c.sigma_rung**2 + c.sigma_benchmark**2 + c.sigma_item**2))
        return self._curve(benchmark, flops, 0.0, sd)

    def true_scores(self, flops: object, offset: object = 0.0) -> pd.DataFrame:
        """:meth:`true_score` of every benchmark: a computes x benchmark table."""
        f = np.atleast_1d(np.asarray(flops, dtype=float))
        data = {
            b: np.broadcast_to(self.true_score(b, f, offset), f.shape) for b in self.benchmark_names
        }
        frame = pd.DataFrame(data, index=pd.Index(f, name="flops"))
        frame.columns.name = "benchmark"
        return frame

    def item_pass_probability(
        self, benchmark: str, flops: object, offset: float = 0.0, *, jitter: bool = True
    ) -> pd.DataFrame:
        """Expected pass probability of every item: items x computes.

        Parameters
        ----------
        benchmark : str
            Benchmark name.
        flops : float or array_like
            Training compute(s).
        offset : float, default 0.0
            Effective-compute offset (dex).
        jitter : bool, default True
            Average over the family's item jitter (``sigma_item``); ``False`` gives the raw curves.
        """
        arrays = self._items(benchmark)
        f = np.atleast_1d(np.asarray(flops, dtype=float))
        x = np.log10(f) + offset
        sd = self.config.sigma_item if jitter else 0.0
        if sd > 0:
            z, w = hermegauss(self.config.quadrature_nodes)
            grid = x[None, :, None] + sd * z[None, None, :]
            p = arrays.pass_probability(np.broadcast_to(grid, (arrays.noisy.size, *grid.shape[1:])))
            p = p @ (w / w.sum())
        else:
            p = arrays.pass_probability(np.broadcast_to(x, (arrays.noisy.size, x.size)))
        frame = pd.DataFrame(
            p, index=self.items[benchmark].index, columns=pd.Index(f, name="flops")
        )
        return frame

    def _curve(
        self, benchmark: str, flops: object, offset: object, sd: float
    ) -> np.ndarray | float:
        f, o = np.broadcast_arrays(np.asarray(flops, dtype=float), np.asarray(offset, dtype=float))
        if np.any(f <= 0):
            raise ValueError("flops must be > 0")
        x = (np.log10(f) + o).ravel()
        out = _expected_mean(self._items(benchmark), x, sd, self.config.quadrature_nodes)
        out = out.reshape(f.shape)
        return float(out) if out.ndim == 0 else out

    # ------------------------------------------------------------------ new models
    def sample_model(
        self,
        flops: float,
        seed: int,
        name: str = "target",
        *,
        samples: int | None = None,
        offset: float | None = None,
    ) -> SampledModel:
        """Draw a fresh ladder-family model at ``flops`` and evaluate it on every item.

        The draw uses its own stream keyed by ``(ladder seed, seed)``: reproducible, and
        independent of the ladder's draws.

        Parameters
        ----------
        flops : float
            Training compute of the model.
        seed : int
            Seed of this draw.
        name : str, default "target"
            Model name.
        samples : int, optional
            Samples per item (default ``config.samples_per_item``).
        offset : float, optional
            Fix the model-level offset ``delta_m`` instead of drawing it from
            ``N(0, sigma_rung)``; the per-benchmark offsets and jitter are still drawn.

        Returns
        -------
        SampledModel
        """
        c = self.config
        if flops <= 0:
            raise ValueError("flops must be > 0")
        n = c.samples_per_item if samples is None else int(samples)
        if n < 1:
            raise ValueError(f"samples must be >= 1, got {n}")
        rng = _rng(self.seed, _STREAM_SAMPLE, int(seed))
        delta = float(rng.normal(0.0, c.sigma_rung)) if offset is None else float(offset)
        params = float(np.sqrt(flops / (6.0 * c.tokens_per_param)))
        models = _models_frame(
            [name], [params], [c.tokens_per_param * params], [flops], ["ladder"], [c.family]
        )
        benchmarks: dict[str, BenchmarkResults] = {}
        offsets, true, realised = {}, {}, {}
        for spec in c.benchmarks:
            arrays = self._items(spec.name)
            total = delta + float(rng.normal(0.0, c.sigma_benchmark))
            jitter = rng.normal(0.0, c.sigma_item, (spec.n_items, 1))
            p = arrays.pass_probability(np.log10(flops) + total - jitter)
            k = rng.binomial(n, np.clip(p, 0.0, 1.0))
            res = _results(spec, self.items[spec.name].index, models.index, k / n, n)
            benchmarks[spec.name] = res
            offsets[spec.name], true[spec.name] = total, float(p.mean())
            realised[spec.name] = float(res.scores.iloc[:, 0].mean())
        ladder = Ladder(models=models, benchmarks=benchmarks, name=f"{c.name}:{name}")
        return SampledModel(
            ladder=ladder,
            offset=delta,
            offsets=pd.Series(offsets, name="offset"),
            scores=pd.Series(realised, name="score"),
            true_scores=pd.Series(true, name="true_score"),
        )

    def ladder_with(self, *models: SampledModel) -> Ladder:
        """The simulated ladder plus sampled model(s), as one :class:`Ladder` (compute order).

        Parameters
        ----------
        *models : SampledModel
            Models from :meth:`sample_model` (role ``"ladder"``); names must be new.
        """
        table = pd.concat([self.ladder.models, *(m.ladder.models for m in models)])
        if table.index.duplicated().any():
            raise ValueError(
                f"duplicate model names: {list(table.index[table.index.duplicated()])}"
            )
        table = table.sort_values("flops", kind="stable")
        benchmarks = {}
        for bench, res in self.ladder.benchmarks.items():
            parts = [res, *(m.ladder.benchmarks[bench] for m in models)]
            scores = pd.concat([r.scores for r in parts], axis=1)[list(table.index)]
            samples = pd.concat([r.samples for r in parts], axis=1)[list(table.index)]
            scores.columns.name = samples.columns.name = "model"
            benchmarks[bench] = BenchmarkResults(bench, scores, samples, res.guess_rate)
        return Ladder(models=table, benchmarks=benchmarks, name=self.ladder.name)

    def summary_table(self, flops: Sequence[float] | None = None) -> pd.DataFrame:
        """True score (offset 0) per benchmark at the top rung and the target compute.

        Parameters
        ----------
        flops : sequence of float, optional
            Computes to tabulate (default: top rung and ``target_flops``).
        """
        f = [self.config.rung_flops[-1], self.config.target_flops] if flops is None else list(flops)
        table = self.true_scores(f).T
        table.insert(0, "guess_rate", [self.config.benchmark(b).guess_rate for b in table.index])
        table.insert(0, "items", [self.config.benchmark(b).n_items for b in table.index])
        return table


# ---------------------------------------------------------------------------------- simulation
def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))


def _key(name: str) -> int:
    """Stable integer key of a benchmark name (draws do not depend on benchmark order)."""
    return zlib.crc32(name.encode("utf-8"))


def _size_label(params: float) -> str:
    if params >= 1e9:
        value, unit = params / 1e9, "B"
    else:
        value, unit = params / 1e6, "M"
    return f"{value:.2g}{unit}" if value < 10 else f"{value:.0f}{unit}"


def _models_frame(
    names: Sequence[str],
    params: Sequence[float],
    tokens: Sequence[float],
    flops: Sequence[float],
    roles: Sequence[str],
    families: Sequence[str],
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "params": np.asarray(params, dtype=float),
            "tokens": np.asarray(tokens, dtype=float),
            "flops": np.asarray(flops, dtype=float),
            "role": list(roles),
            "family": list(families),
        },
        index=pd.Index(list(names), name="model"),
    )
    return frame.sort_values("flops", kind="stable")


def _results(
    spec: BenchmarkSpec, items: pd.Index, models: pd.Index, rates: np.ndarray, samples: int
) -> BenchmarkResults:
    cols = pd.Index(list(models), name="model")
    scores = pd.DataFrame(rates, index=items, columns=cols)
    counts = pd.DataFrame(np.full(rates.shape, samples, dtype=np.int64), index=items, columns=cols)
    return BenchmarkResults(spec.name, scores, counts, spec.guess_rate)


def simulate_ladder(config: SimulationConfig | None = None, seed: int = 0) -> SimulatedLadder:
    """Draw a ladder (rungs plus anchors) and its item-level results.

    Parameters
    ----------
    config : SimulationConfig, optional
        Generative parameters (default :func:`paper_scale_config`).
    seed : int, default 0
        Seed; the same seed gives an identical ladder.

    Returns
    -------
    SimulatedLadder
    """
    c = paper_scale_config() if config is None else config
    n_rungs = len(c.rung_flops)
    rung_flops = np.asarray(c.rung_flops, dtype=float)
    rung_params = np.sqrt(rung_flops / (6.0 * c.tokens_per_param))
    names = [f"ladder-{i + 1}-{_size_label(p)}" for i, p in enumerate(rung_params)]
    names += [a.name for a in c.anchors]
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be unique, got {names}")
    models = _models_frame(
        names,
        [*rung_params, *(a.params for a in c.anchors)],
        [*(c.tokens_per_param * rung_params), *(a.tokens for a in c.anchors)],
        [*rung_flops, *(a.flops for a in c.anchors)],
        ["ladder"] * n_rungs + ["anchor"] * len(c.anchors),
        [c.family] * n_rungs + [a.family for a in c.anchors],
    )
    # per-model constants, in the (unsorted) order of `names`
    base_offset = np.concatenate(
        [
            _rng(seed, _STREAM_OFFSETS).normal(0.0, c.sigma_rung, n_rungs),
            [a.offset for a in c.anchors],
        ]
    )
    bench_sd = np.array([c.sigma_benchmark] * n_rungs + [a.sigma_benchmark for a in c.anchors])
    item_sd = np.array([c.sigma_item] * n_rungs + [a.sigma_item for a in c.anchors])
    log_c = np.log10(np.concatenate([rung_flops, [a.flops for a in c.anchors]]))
    order = [names.index(m) for m in models.index]  # unsorted -> compute order

    items, arrays, benchmarks, offsets, true = {}, {}, {}, {}, {}
    for spec in c.benchmarks:
        key = _key(spec.name)
        items[spec.name] = _draw_items(spec, _rng(seed, _STREAM_ITEMS, key))
        arrays[spec.name] = _ItemArrays.from_frame(items[spec.name], spec.guess_rate, c.response)
        total = (
            base_offset + _rng(seed, _STREAM_OFFSETS, key).normal(0.0, 1.0, len(names)) * bench_sd
        )
        jitter = _rng(seed, _STREAM_JITTER, key).normal(0.0, 1.0, (spec.n_items, len(names)))
        x = (log_c + total)[None, :] - jitter * item_sd[None, :]
        p = arrays[spec.name].pass_probability(x[:, order])
        k = _rng(seed, _STREAM_BINOMIAL, key).binomial(c.samples_per_item, np.clip(p, 0.0, 1.0))
        benchmarks[spec.name] = _results(
            spec, items[spec.name].index, models.index, k / c.samples_per_item, c.samples_per_item
        )
        offsets[spec.name] = total[order]
        true[spec.name] = p.mean(axis=0)

    def frame(data: dict[str, np.ndarray]) -> pd.DataFrame:
        out = pd.DataFrame(data, index=models.index)
        out.columns.name = "benchmark"
        return out

    ladder = Ladder(models=models, benchmarks=benchmarks, name=c.name)
    return SimulatedLadder(
        config=c,
        seed=int(seed),
        ladder=ladder,
        items=items,
        offsets=frame(offsets),
        model_true_scores=frame(true),
        _arrays=arrays,
    )
