"""The COD point pipeline: analyse_benchmark and the cod-point predictor."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from codbayes.data.ladder import BenchmarkResults, Ladder
from codbayes.laws import cod_law
from codbayes.methods import get_method
from codbayes.methods.base import NotFittedError
from codbayes.methods.cod_point import (
    FALLBACK_NO_CLUSTER,
    FALLBACK_NO_EXTRAPOLATABLE,
    CODPoint,
    analyse_benchmark,
    subset_prediction,
)
from codbayes.scaling import FilterThresholds
from codbayes.subset import ALL_ZERO

UNIT = 4e19
X = np.geomspace(1.0, 3500.0, 8)  # the paper's ladder, rescaled
X_TARGET = 27 * X[-1]
#: (law g, a, b, c, items): four extrapolatable groups, a saturated one, a low-ceiling one and
#: items nobody solves
GROUPS = [
    (0.0, 2.0, 0.5, 0.1, 60),
    (0.0, 5.0, 0.5, 0.05, 60),
    (0.0, 10.0, 0.55, 0.1, 60),
    (0.0, 25.0, 0.6, 0.2, 60),
    (0.0, 0.2, 0.5, 0.05, 40),  # non-emergent: solved at the bottom rung already
    (0.0, 4.0, 0.5, 1.8, 40),  # non-extrapolatable: ceiling e^-1.8
    (0.0, 1e4, 0.3, 0.0, 40),  # all-zero on the ladder
]
DATA = Path("/work/shared/data/eval_arena")


def _law_ladder(seed: int = 0, *, anchor: bool = True, samples: int = 100) -> Ladder:
    """Items whose pass probability is exactly their group's law, binomial samples."""
    rng = np.random.default_rng(seed)
    xs = np.r_[X, X_TARGET] if anchor else X
    names = [f"rung{i}" for i in range(X.size)] + (["anchor"] if anchor else [])
    flops = xs * UNIT
    models = pd.DataFrame(
        {
            "params": flops / 6e12,
            "tokens": 1e12,
            "flops": flops,
            "role": ["ladder"] * X.size + (["anchor"] if anchor else []),
            "family": "law",
        },
        index=pd.Index(names, name="model"),
    )
    prob = np.vstack(
        [np.tile(cod_law(xs, g, a, b, c), (n, 1)) for g, a, b, c, n in GROUPS]
    )  # items x models
    rates = rng.binomial(samples, prob) / samples
    items = pd.Index([f"item{i:03d}" for i in range(len(prob))], name="item")
    cols = pd.Index(names, name="model")
    scores = pd.DataFrame(rates, index=items, columns=cols)
    counts = pd.DataFrame(np.full(rates.shape, samples, dtype=np.int64), index=items, columns=cols)
    return Ladder(models, {"law": BenchmarkResults("law", scores, counts, 0.0)}, name="law")


def _truth(x: float) -> float:
    sizes = np.array([n for *_, n in GROUPS], dtype=float)
    values = np.array([cod_law(x, g, a, b, c) for g, a, b, c, _ in GROUPS])
    return float(sizes @ values / sizes.sum())


@pytest.fixture(scope="module")
def law_ladder() -> Ladder:
    return _law_ladder()


@pytest.fixture(scope="module")
def fitted(law_ladder) -> CODPoint:
    return CODPoint().fit(law_ladder)


# ------------------------------------------------------------------------ analyse_benchmark
def test_clustered_benchmark_contract(law_ladder, fitted):
    cb = fitted.clustered_["law"]
    assert cb.fallback is None
    assert cb.n_items == 360
    assert cb.models == [*law_ladder.ladder_models, "anchor"]
    assert cb.is_ladder.tolist() == [True] * 8 + [False]
    assert cb.compute_unit == UNIT
    np.testing.assert_allclose(cb.x, np.r_[X, X_TARGET])
    # the items nobody solves are set aside, and only they
    assert np.all(cb.labels[-40:] == ALL_ZERO)
    assert np.sum(cb.labels == ALL_ZERO) == 40
    k = cb.n_clusters
    assert cb.accuracy.shape == cb.successes.shape == cb.trials.shape == (k, 9)
    assert cb.clusters.index.is_monotonic_increasing
    assert list(cb.clusters.columns[:1]) == ["size"]
    sizes = [int(np.sum(cb.labels == lab)) for lab in cb.clusters.index]
    assert cb.clusters["size"].tolist() == sizes
    np.testing.assert_array_equal(
        cb.trials, np.broadcast_to(100 * cb.clusters["size"].to_numpy()[:, None], (k, 9))
    )
    np.testing.assert_allclose(cb.successes / cb.trials, cb.accuracy, atol=1e-12)
    # observed scores
    np.testing.assert_allclose(cb.full_score, law_ladder.scores()["law"].to_numpy())
    extrap = cb.clusters["extrapolatable"].to_numpy()
    size = cb.clusters["size"].to_numpy()[extrap]
    np.testing.assert_allclose(cb.subset_score, size @ cb.accuracy[extrap] / size.sum())
    assert cb.info()["n_items"] == 360


def test_classes_match_the_generating_groups(fitted):
    """Every cluster is (mostly) one group; its class is the group's class."""
    cb = fitted.clustered_["law"]
    group = np.repeat(np.arange(len(GROUPS)), [n for *_, n in GROUPS])
    expected = {0: "E", 1: "E", 2: "E", 3: "E", 4: "non-emergent", 5: "non-extrapolatable"}
    for label, row in cb.clusters.iterrows():
        members = group[cb.labels == label]
        majority = np.bincount(members).argmax()
        assert np.mean(members == majority) > 0.9
        want = expected[majority]
        assert row["cls"] == ("extrapolatable" if want == "E" else want)
    # the four growing groups make up the predictable subset
    in_subset = np.isin(cb.labels, cb.clusters.index[cb.clusters["extrapolatable"]])
    assert np.mean(in_subset[group < 4]) > 0.9
    assert np.mean(in_subset[group >= 4]) < 0.05
    assert cb.subset_fraction == pytest.approx(240 / 360, abs=0.08)  # minus outliers


def test_subset_prediction_is_size_weighted_mean(fitted):
    cb = fitted.clustered_["law"]
    table = cb.clusters[cb.clusters["extrapolatable"]]
    by_hand = (
        sum(
            r["size"] * cod_law(X_TARGET, r["g"], r["a"], r["b"], r["c"])
            for _, r in table.iterrows()
        )
        / table["size"].sum()
    )
    assert subset_prediction(cb, [X_TARGET * UNIT])[0] == pytest.approx(by_hand)
    sizes = np.array([n for *_, n in GROUPS[:4]], dtype=float)
    true_subset = sizes @ [cod_law(X_TARGET, *p[:4]) for p in GROUPS[:4]] / sizes.sum()
    assert by_hand == pytest.approx(true_subset, abs=0.02)


# ------------------------------------------------------------------------ predictor
def test_predicts_27x_extrapolation_within_two_points(fitted):
    pred = fitted.predict(X_TARGET * UNIT)
    assert pred.method == "cod-point" and pred.n_draws == 1
    assert pred.scores("law")[0] == pytest.approx(_truth(X_TARGET), abs=0.02)
    info = pred.info["law"]
    assert info["n_extrapolatable"] >= 4 and info["n_items"] == 360


def test_without_anchor_and_without_mapping():
    ladder = _law_ladder(anchor=False)
    truth = _truth(X_TARGET)
    with_map = CODPoint().fit(ladder).predict(X_TARGET * UNIT).scores("law")[0]
    assert with_map == pytest.approx(truth, abs=0.05)
    raw = CODPoint(use_mapping=False).fit(ladder)
    subset = raw.predict(X_TARGET * UNIT).scores("law")[0]
    assert subset == pytest.approx(raw.predict_subset(X_TARGET * UNIT)["law"][0])
    assert subset > truth + 0.1  # the subset excludes the never-solved and low-ceiling items


def test_deterministic_and_monotone_in_compute(law_ladder):
    targets = UNIT * np.array([X[-1], 5 * X[-1], X_TARGET, 1e3 * X[-1]])
    one = CODPoint().fit(law_ladder).predict(targets)
    two = get_method("cod-point", seed=3, draws=10, chains=2, progressbar=False)
    two = two.fit(law_ladder).predict(targets)
    assert np.array_equal(one.draws, two.draws)
    assert np.all(np.diff(one.draws[0, :, 0]) > 0)
    assert np.all((one.draws >= 0) & (one.draws <= 1))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        CODPoint().predict(1e24)


# ------------------------------------------------------------------------ fallbacks
def test_fallback_when_no_cluster_passes_the_filter(law_ladder):
    impossible = FilterThresholds(a_min=1e9)
    cb = analyse_benchmark(law_ladder, "law", thresholds=impossible)
    assert cb.fallback == FALLBACK_NO_EXTRAPOLATABLE
    assert cb.n_clusters == 1 and cb.n_extrapolatable == 1
    assert cb.clusters["size"].iloc[0] == 320  # everything but the all-zero items
    assert set(np.unique(cb.labels)) == {ALL_ZERO, 0}
    pred = CODPoint(thresholds={"a_min": 1e9}).fit(law_ladder).predict(X_TARGET * UNIT)
    assert 0 < pred.scores("law")[0] < 1


def test_fallback_when_clustering_leaves_no_cluster(law_ladder):
    cb = analyse_benchmark(law_ladder, "law", cluster_params={"min_cluster_size": 10_000})
    assert cb.fallback == FALLBACK_NO_CLUSTER
    assert cb.n_extrapolatable == 1 and cb.subset_fraction == pytest.approx(320 / 360)


def test_benchmark_nobody_solves():
    base = _law_ladder(anchor=False)
    res = base.benchmarks["law"]
    zero = BenchmarkResults("zero", res.scores * 0.0, res.samples, None)
    ladder = Ladder(base.models, {"law": res, "zero": zero})
    model = CODPoint().fit(ladder)
    cb = model.clustered_["zero"]
    assert cb.n_clusters == 0 and cb.subset_fraction == 0.0
    pred = model.predict(X_TARGET * UNIT)
    assert pred.scores("zero")[0] == 0.0
    assert pred.scores("law")[0] > 0.3


# ------------------------------------------------------------------------ simulator / real data
def test_simulated_ladder_with_anchor():
    simulate = pytest.importorskip("codbayes.data.simulate")
    sim = simulate.simulate_ladder(simulate.small_config(), seed=0)
    pred = CODPoint().fit(sim.ladder).predict(sim.target_flops)
    for bench in sim.benchmark_names:
        truth = sim.expected_target_score(bench, sim.target_flops)
        assert pred.scores(bench)[0] == pytest.approx(truth, abs=0.04)


@pytest.mark.skipif(not (DATA / "humaneval_hf_matrix.csv.gz").exists(), reason="no data")
def test_real_humaneval_qwen_smoke():
    readers = pytest.importorskip("codbayes.data.readers")
    qwen = [f"Qwen1.5-{s}" for s in ("0.5B", "1.8B", "4B", "7B", "14B", "32B", "72B")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = readers.read_eval_arena("humaneval_hf", qwen)
    train, held = full.holdout_largest(1)
    target = float(held.compute.iloc[0])
    real = float(held.scores().iloc[0, 0])
    for name in ("cod-point", "e2e-exp", "e2e-passrate", "e2e-sigmoid"):
        method = get_method(name).fit(train)
        score = method.predict(target).scores("humaneval_hf")[0]
        assert 0.0 <= score <= 1.0
        if name.startswith("e2e"):
            assert score == pytest.approx(real, abs=0.1)
    cb = CODPoint().fit(train).clustered_["humaneval_hf"]
    assert cb.n_items == 164
    assert cb.n_extrapolatable >= 1
    never = train.pass_rates("humaneval_hf").to_numpy().sum(axis=1) == 0
    assert np.array_equal(cb.labels == ALL_ZERO, never)
