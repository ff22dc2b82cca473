"""The one result type every method returns: score draws per benchmark and target compute.

Point methods return a single draw (or bootstrap draws); the Bayesian method returns posterior
predictive draws.  Everything downstream (tables, JSON, backtests, plans, plots) reads a
:class:`Prediction` and never asks which method made it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

QUANTILES: dict[str, float] = {"q05": 0.05, "q25": 0.25, "q75": 0.75, "q95": 0.95}
INFO_FIELDS = ("n_items", "n_clusters", "n_extrapolatable", "subset_fraction")
DIAGNOSTIC_FIELDS = ("max_rhat", "min_ess_bulk", "divergences")


@dataclass(frozen=True, eq=False)
class Prediction:
    """Predicted benchmark scores of target model(s).

    Parameters
    ----------
    method : str
        Name of the method that produced it (e.g. ``"cod-bayes"``).
    target_flops : numpy.ndarray
        Target training computes, shape ``(n_targets,)``.
    benchmarks : list of str
        Benchmark names.
    draws : numpy.ndarray
        Score draws as fractions in [0, 1], shape ``(n_benchmarks, n_targets, n_draws)``.
    info : Mapping[str, Mapping[str, float]]
        Per benchmark: ``n_items``, ``n_clusters``, ``n_extrapolatable``, ``subset_fraction``
        (NaN / 0 where a method has no clusters).
    diagnostics : Mapping[str, float]
        ``max_rhat``, ``min_ess_bulk``, ``divergences`` (NaN for methods without MCMC).
    seed : int or None
        Seed the prediction was made with.
    """

    method: str
    target_flops: np.ndarray
    benchmarks: list[str]
    draws: np.ndarray
    info: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    diagnostics: Mapping[str, float] = field(default_factory=dict)
    seed: int | None = None

    def __post_init__(self) -> None:
        flops = np.atleast_1d(np.asarray(self.target_flops, dtype=float))
        draws = np.asarray(self.draws, dtype=float)
        if draws.ndim != 3 or draws.shape[:2] != (len(self.benchmarks), flops.size):
            raise ValueError(
                f"draws must have shape (n_benchmarks={len(self.benchmarks)}, "
                f"n_targets={flops.size}, n_draws), got {draws.shape}"
            )
        object.__setattr__(self, "target_flops", flops)
        object.__setattr__(self, "draws", draws)

    # ------------------------------------------------------------------ access
    @property
    def n_draws(self) -> int:
        """Number of draws per benchmark and target."""
        return int(self.draws.shape[2])

    def scores(self, benchmark: str, target: int = 0) -> np.ndarray:
        """Draws of ``benchmark``'s score at target index ``target``."""
        return self.draws[self.benchmarks.index(benchmark), target]

    def to_dataarray(self) -> xr.DataArray:
        """Draws as an ``xarray.DataArray`` with dims ``(benchmark, target_flops, draw)``."""
        return xr.DataArray(
            self.draws,
            dims=("benchmark", "target_flops", "draw"),
            coords={"benchmark": self.benchmarks, "target_flops": self.target_flops},
            name="score",
            attrs={"method": self.method},
        )

    # ------------------------------------------------------------------ summaries
    def summary(self, target: int | None = None) -> pd.DataFrame:
        """One row per (benchmark, target): mean, median, sd, q05, q25, q75, q95 and cluster info.

        Parameters
        ----------
        target : int, optional
            Restrict to one target index.
        """
        rows = []
        targets = range(self.target_flops.size) if target is None else [target]
        for b, bench in enumerate(self.benchmarks):
            for t in targets:
                d = self.draws[b, t]
                row: dict[str, Any] = {
                    "benchmark": bench,
                    "target_flops": self.target_flops[t],
                    "mean": float(d.mean()),
                    "median": float(np.median(d)),
                    "sd": float(d.std(ddof=1)) if d.size > 1 else 0.0,
                }
                for name, q in QUANTILES.items():
                    row[name] = float(np.quantile(d, q))
                for key in INFO_FIELDS:
                    row[key] = self.info.get(bench, {}).get(key, math.nan)
                rows.append(row)
        return pd.DataFrame(rows).set_index(["benchmark", "target_flops"])

    def interval(self, prob: float = 0.9) -> pd.DataFrame:
        """Equal-tailed ``prob`` credible interval per (benchmark, target): columns lower, upper."""
        lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
        q = np.quantile(self.draws, [lo, hi], axis=2)
        index = pd.MultiIndex.from_product(
            [self.benchmarks, self.target_flops], names=["benchmark", "target_flops"]
        )
        return pd.DataFrame({"lower": q[0].ravel(), "upper": q[1].ravel()}, index=index)

    def prob_at_least(self, score: float, benchmark: str | None = None) -> pd.DataFrame | float:
        """Probability that the score is at least ``score``.

        Returns a float for one benchmark and a single target, otherwise a benchmark x target
        DataFrame.
        """
        p = (self.draws >= score).mean(axis=2)
        frame = pd.DataFrame(p, index=self.benchmarks, columns=self.target_flops)
        frame.index.name, frame.columns.name = "benchmark", "target_flops"
        if benchmark is not None and self.target_flops.size == 1:
            return float(frame.loc[benchmark].iloc[0])
        return frame.loc[[benchmark]] if benchmark is not None else frame

    def to_json_dict(self, target: int = 0) -> dict[str, Any]:
        """The ``predict --json`` object for one target (schema in ``docs/cli.md``)."""
        table = self.summary(target=target).reset_index()
        benches = {}
        for _, row in table.iterrows():
            entry = {k: _finite(row[k]) for k in ("mean", "median", "sd", *QUANTILES)}
            for key in INFO_FIELDS:
                value = _finite(row[key])
                if key != "subset_fraction" and value is not None:
                    value = int(value)
                entry[key] = value
            benches[row["benchmark"]] = entry
        diagnostics = {k: _finite(self.diagnostics.get(k, math.nan)) for k in DIAGNOSTIC_FIELDS}
        if diagnostics["divergences"] is not None:
            diagnostics["divergences"] = int(diagnostics["divergences"])
        return {
            "method": self.method,
            "target_flops": float(self.target_flops[target]),
            "seed": self.seed,
            "benchmarks": benches,
            "diagnostics": diagnostics,
        }

    @classmethod
    def from_points(
        cls,
        method: str,
        target_flops: Sequence[float] | np.ndarray,
        points: Mapping[str, Sequence[float] | np.ndarray],
        info: Mapping[str, Mapping[str, float]] | None = None,
        seed: int | None = None,
    ) -> Prediction:
        """Build a one-draw prediction from point scores per benchmark (one per target)."""
        benches = list(points)
        draws = np.stack([np.atleast_1d(np.asarray(points[b], dtype=float)) for b in benches])
        return cls(
            method=method,
            target_flops=np.atleast_1d(np.asarray(target_flops, dtype=float)),
            benchmarks=benches,
            draws=draws[:, :, None],
            info=dict(info or {}),
            diagnostics={},
            seed=seed,
        )


def _finite(value: Any) -> float | None:
    """JSON-safe float: NaN and infinities become ``None``."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
