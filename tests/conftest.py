"""Shared test fixtures (keep small; each test module owns its specific fixtures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def make_tidy_tables(seed: int = 0) -> dict[str, pd.DataFrame]:
    """A tiny valid input: 4 ladder models + 1 anchor, 2 benchmarks of 6 items, raw counts."""
    rng = np.random.default_rng(seed)
    models = pd.DataFrame(
        {
            "model": ["m-small", "m-medium", "m-large", "m-xl", "m-anchor"],
            "params": [1e8, 4e8, 1.6e9, 6.4e9, 7e10],
            "tokens": [2e10, 8e10, 3.2e11, 1.3e12, np.nan],
            "role": ["ladder", "ladder", "ladder", "ladder", "anchor"],
            "family": ["toy", "toy", "toy", "toy", None],
        }
    )
    rows = []
    for bench, samples in (("bench_a", 1), ("bench_b", 10)):
        for i in range(6):
            for j, model in enumerate(models["model"]):
                p = 1 / (1 + np.exp(-(j - 2 + 0.3 * i)))
                k = rng.binomial(samples, p)
                rows.append((bench, f"q{i}", model, k / samples, samples))
    results = pd.DataFrame(rows, columns=["benchmark", "item", "model", "score", "samples"])
    benchmarks = pd.DataFrame({"benchmark": ["bench_a", "bench_b"], "guess_rate": [0.25, np.nan]})
    return {"results": results, "models": models, "benchmarks": benchmarks}


@pytest.fixture
def tidy_tables() -> dict[str, pd.DataFrame]:
    """In-memory tidy tables (results, models, benchmarks) of a tiny valid ladder."""
    return make_tidy_tables()


@pytest.fixture
def tidy_files(tmp_path: Path, tidy_tables: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """The tiny ladder written as CSV files: ``results`` (.csv.gz), ``models``, ``benchmarks``."""
    paths = {
        "results": tmp_path / "results.csv.gz",
        "models": tmp_path / "models.csv",
        "benchmarks": tmp_path / "benchmarks.csv",
    }
    for key, path in paths.items():
        tidy_tables[key].to_csv(path, index=False)
    return paths
