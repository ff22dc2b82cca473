"""The validated in-memory ladder every later stage consumes.

A :class:`Ladder` holds

* a **models table** (one row per model, index ``model``): ``params``, ``tokens``, ``flops``
  (training compute, default ``6 * params * tokens``), ``role`` (``"ladder"``: used for the scaling
  fit; ``"anchor"``: an external model used only for the subset-to-full mapping) and ``family``;
* per **benchmark**, item-level results of every model: a pass rate in [0, 1] and the number of
  samples behind it, stored as two item x model tables (columns ordered by compute);
* per benchmark an optional random-guess rate.

Construct it with :meth:`Ladder.from_tidy` (which validates) or with the readers in
:mod:`codbayes.data.readers`.  A ladder is immutable: selections return new ladders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ROLES = ("ladder", "anchor")
RESULT_COLUMNS = ("benchmark", "item", "model", "score", "samples")
MODEL_COLUMNS = ("model", "params", "tokens", "flops", "role", "family")
MIN_LADDER_MODELS = 3


@dataclass(frozen=True, eq=False)
class BenchmarkResults:
    """Item-level results of one benchmark.

    Attributes
    ----------
    name : str
        Benchmark name.
    scores : pandas.DataFrame
        Pass rates, index ``item``, one column per model (NaN where a model was not evaluated).
    samples : pandas.DataFrame
        Number of samples behind each pass rate, same shape (0 where not evaluated).
    guess_rate : float or None
        Random-guess accuracy of the benchmark, if known.
    """

    name: str
    scores: pd.DataFrame
    samples: pd.DataFrame
    guess_rate: float | None = None

    @property
    def n_items(self) -> int:
        """Number of items."""
        return int(self.scores.shape[0])


@dataclass(frozen=True, eq=False)
class Ladder:
    """Item-level evaluations of a ladder of models (plus anchors) on several benchmarks.

    Use :meth:`from_tidy` to build one from tables; the constructor trusts its input.

    Parameters
    ----------
    models : pandas.DataFrame
        Index ``model``; columns ``params``, ``tokens``, ``flops``, ``role``, ``family``; sorted by
        ``flops``.
    benchmarks : Mapping[str, BenchmarkResults]
        Results per benchmark, columns in the order of ``models``.
    name : str, optional
        A label (e.g. the file it came from).
    checkpoints : pandas.DataFrame, optional
        Per-checkpoint losses and scores for loss-intermediate methods (FLP), tidy, one row per
        (model, checkpoint, benchmark); schema in :mod:`codbayes.data.checkpoints`.
    """

    models: pd.DataFrame
    benchmarks: Mapping[str, BenchmarkResults]
    name: str | None = None
    checkpoints: pd.DataFrame | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_tidy(
        cls,
        results: pd.DataFrame,
        models: pd.DataFrame,
        *,
        guess_rates: Mapping[str, float] | None = None,
        results_source: str = "results",
        models_source: str = "models",
        name: str | None = None,
        min_ladder_models: int = MIN_LADDER_MODELS,
    ) -> Ladder:
        """Validate tidy tables and build a ladder.

        Parameters
        ----------
        results : pandas.DataFrame
            Long table with columns ``benchmark, item, model, score`` and optionally ``samples``
            (default 1).
        models : pandas.DataFrame
            Columns ``model, params, tokens`` and optionally ``flops`` (default
            ``6 * params * tokens``), ``role`` (default ``"ladder"``), ``family``.
        guess_rates : Mapping[str, float], optional
            Random-guess accuracy per benchmark.
        results_source, models_source : str
            Names used in error messages (usually the file paths).
        name : str, optional
            Label of the ladder.
        min_ladder_models : int, default 3
            Fewest models with role ``ladder`` accepted.

        Returns
        -------
        Ladder

        Raises
        ------
        codbayes.errors.InputError
            On any problem, with a one-line message naming the file, column and an example row.
        """
        from codbayes.data.validate import (
            guess_rates_from_mapping,
            validate_models,
            validate_results,
        )

        models = validate_models(models, source=models_source, min_ladder_models=min_ladder_models)
        results = validate_results(
            results, models, source=results_source, models_source=models_source
        )
        guess_rates = guess_rates_from_mapping(guess_rates, set(results["benchmark"]))
        order = list(models.index)
        benchmarks: dict[str, BenchmarkResults] = {}
        for bench, frame in results.groupby("benchmark", sort=True):
            scores = frame.pivot(index="item", columns="model", values="score")
            samples = frame.pivot(index="item", columns="model", values="samples")
            cols = [m for m in order if m in scores.columns]
            scores = scores.reindex(columns=cols)
            samples = samples.reindex(columns=cols).fillna(0).astype(np.int64)
            scores.columns.name = samples.columns.name = "model"
            benchmarks[str(bench)] = BenchmarkResults(
                str(bench), scores, samples, guess_rates.get(str(bench))
            )
        return cls(models=models, benchmarks=benchmarks, name=name)

    # ------------------------------------------------------------------ basic views
    @property
    def benchmark_names(self) -> list[str]:
        """Benchmark names, sorted."""
        return list(self.benchmarks)

    @property
    def compute(self) -> pd.Series:
        """Training compute (FLOPs) per model, ascending."""
        return self.models["flops"]

    @property
    def ladder_models(self) -> list[str]:
        """Models with role ``ladder``, by ascending compute."""
        return list(self.models.index[self.models["role"] == "ladder"])

    @property
    def anchor_models(self) -> list[str]:
        """Models with role ``anchor``, by ascending compute."""
        return list(self.models.index[self.models["role"] == "anchor"])

    def guess_rate(self, benchmark: str) -> float | None:
        """Random-guess accuracy of ``benchmark`` if known."""
        return self.benchmarks[benchmark].guess_rate

    def pass_rates(self, benchmark: str, models: Iterable[str] | None = None) -> pd.DataFrame:
        """Item x model pass-rate matrix of ``benchmark``, columns ordered by compute.

        Parameters
        ----------
        benchmark : str
            Benchmark name.
        models : iterable of str, optional
            Models to include (default: the ladder models).  Always returned in compute order.
        """
        return self._matrix(benchmark, "scores", models)

    def samples(self, benchmark: str, models: Iterable[str] | None = None) -> pd.DataFrame:
        """Item x model number of samples behind :meth:`pass_rates`."""
        return self._matrix(benchmark, "samples", models)

    def _matrix(self, benchmark: str, what: str, models: Iterable[str] | None) -> pd.DataFrame:
        if benchmark not in self.benchmarks:
            raise KeyError(f"unknown benchmark {benchmark!r}; have {self.benchmark_names}")
        table: pd.DataFrame = getattr(self.benchmarks[benchmark], what)
        wanted = self.ladder_models if models is None else list(models)
        unknown = [m for m in wanted if m not in self.models.index]
        if unknown:
            raise KeyError(f"unknown models {unknown}")
        cols = [m for m in self.models.index if m in set(wanted) and m in table.columns]
        return table[cols]

    def scores(self) -> pd.DataFrame:
        """Full-benchmark score (mean pass rate over evaluated items): model x benchmark."""
        if "scores" not in self._cache:
            data = {b: r.scores.mean(axis=0) for b, r in self.benchmarks.items()}
            frame = pd.DataFrame(data).reindex(index=self.models.index)
            frame.index.name, frame.columns.name = "model", "benchmark"
            self._cache["scores"] = frame
        return self._cache["scores"]

    def missing_cells(self) -> pd.Series:
        """Number of (item, model) cells without a result, per benchmark."""
        return pd.Series(
            {b: int(r.scores.isna().to_numpy().sum()) for b, r in self.benchmarks.items()},
            name="missing",
        )

    # ------------------------------------------------------------------ selections
    def select(self, models: Iterable[str], *, name: str | None = None) -> Ladder:
        """A new ladder restricted to ``models`` (benchmarks left without a model are dropped)."""
        keep = list(models)
        unknown = [m for m in keep if m not in self.models.index]
        if unknown:
            raise KeyError(f"unknown models {unknown}")
        table = self.models.loc[[m for m in self.models.index if m in set(keep)]]
        benchmarks = {}
        for bench, res in self.benchmarks.items():
            cols = [m for m in table.index if m in res.scores.columns]
            if cols:
                benchmarks[bench] = BenchmarkResults(
                    bench, res.scores[cols], res.samples[cols], res.guess_rate
                )
        ckpt = self.checkpoints
        if ckpt is not None:
            ckpt = ckpt[ckpt["model"].isin(set(table.index))].reset_index(drop=True)
        return Ladder(models=table, benchmarks=benchmarks, name=name or self.name, checkpoints=ckpt)

    def drop(self, models: Iterable[str]) -> Ladder:
        """A new ladder without ``models``."""
        gone = set(models)
        return self.select([m for m in self.models.index if m not in gone])

    def below(self, flops: float, *, inclusive: bool = False) -> Ladder:
        """Ladder models with compute below ``flops`` (anchors are kept)."""
        c = self.models["flops"]
        small = (c <= flops) if inclusive else (c < flops)
        keep = self.models.index[small | (self.models["role"] == "anchor")]
        return self.select(keep)

    def with_roles(self, roles: Mapping[str, str]) -> Ladder:
        """A new ladder where the given models get new roles (``"ladder"`` or ``"anchor"``)."""
        bad = {m: r for m, r in roles.items() if r not in ROLES}
        if bad:
            raise ValueError(f"roles must be one of {ROLES}, got {bad}")
        unknown = [m for m in roles if m not in self.models.index]
        if unknown:
            raise KeyError(f"unknown models {unknown}")
        table = self.models.copy()
        for m, r in roles.items():
            table.loc[m, "role"] = r
        return Ladder(
            models=table, benchmarks=self.benchmarks, name=self.name, checkpoints=self.checkpoints
        )

    def holdout_largest(self, k: int = 1) -> tuple[Ladder, Ladder]:
        """Split off the ``k`` largest-compute ladder models.

        Returns
        -------
        (Ladder, Ladder)
            The remaining ladder (smaller ladder models plus all anchors) and a ladder of the
            held-out models (role ``ladder``).
        """
        rungs = self.ladder_models
        if k < 1 or len(rungs) - k < 1:
            raise ValueError(f"cannot hold out {k} of {len(rungs)} ladder models")
        held = rungs[-k:]
        return self.drop(held), self.select(held)

    def summary(self) -> str:
        """Human-readable summary (benchmarks, items, models by compute, missing cells)."""
        lines = [f"ladder {self.name or ''}".rstrip()]
        lines.append(f"{len(self.benchmarks)} benchmark(s):")
        missing = self.missing_cells()
        for bench, res in self.benchmarks.items():
            guess = "" if res.guess_rate is None else f", guess rate {res.guess_rate:g}"
            lines.append(
                f"  {bench}: {res.n_items} items, {res.scores.shape[1]} models, "
                f"{missing[bench]} missing cells{guess}"
            )
        lines.append(f"{len(self.models)} model(s) by compute:")
        scores = self.scores()
        for model, row in self.models.iterrows():
            fam = f" [{row['family']}]" if isinstance(row["family"], str) and row["family"] else ""
            mean = scores.loc[model].mean()
            compute = "no compute" if np.isnan(row["flops"]) else f"{row['flops']:.3g} FLOPs"
            lines.append(
                f"  {model:<28} {row['role']:<7} {compute:>16}{fam}  mean score {mean:.3f}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"Ladder(name={self.name!r}, benchmarks={self.benchmark_names}, "
            f"ladder_models={len(self.ladder_models)}, anchors={len(self.anchor_models)})"
        )
