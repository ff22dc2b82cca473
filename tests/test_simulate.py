"""Tests of the ladder simulator (codbayes.data.simulate)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from codbayes.data.ladder import MODEL_COLUMNS, Ladder
from codbayes.data.simulate import (
    PAPER_TARGET_FLOPS,
    AnchorSpec,
    BenchmarkSpec,
    SimulationConfig,
    paper_scale_config,
    simulate_ladder,
    small_config,
)

PAPER_ITEMS = {
    "GSM8K": 1319,
    "MATH": 5000,
    "BBH": 6511,
    "TriviaQA": 17944,
    "MBPP": 500,
    "AGIEval": 8063,
    "DROP": 9536,
    "MMLU-pro": 12032,
}


@pytest.fixture(scope="module")
def sim():
    return simulate_ladder(small_config(), seed=3)


@pytest.fixture(scope="module")
def paper():
    start = time.perf_counter()
    out = simulate_ladder(paper_scale_config(), seed=0)
    return out, time.perf_counter() - start


def _binomial_bound(n_items: int, samples: int, z: float = 4.0) -> float:
    """z times the largest possible SD of a mean of ``n_items`` binomial pass rates."""
    return z * np.sqrt(0.25 / (samples * n_items))


# ------------------------------------------------------------------------------ determinism
def test_same_seed_gives_identical_ladder():
    a, b = simulate_ladder(small_config(), seed=11), simulate_ladder(small_config(), seed=11)
    for bench in a.benchmark_names:
        pd.testing.assert_frame_equal(
            a.ladder.benchmarks[bench].scores, b.ladder.benchmarks[bench].scores
        )
        pd.testing.assert_frame_equal(a.items[bench], b.items[bench])
    pd.testing.assert_frame_equal(a.offsets, b.offsets)
    pd.testing.assert_frame_equal(a.ladder.models, b.ladder.models)


def test_different_seed_differs():
    a, b = simulate_ladder(small_config(), seed=1), simulate_ladder(small_config(), seed=2)
    for bench in a.benchmark_names:
        diff = (
            a.ladder.benchmarks[bench].scores.to_numpy()
            - b.ladder.benchmarks[bench].scores.to_numpy()
        )
        assert np.mean(diff != 0) > 0.3
        assert not np.allclose(a.items[bench]["ceiling"], b.items[bench]["ceiling"])


def test_streams_are_independent_of_samples_and_benchmark_order():
    base = simulate_ladder(small_config(), seed=5)
    greedy = simulate_ladder(small_config(samples_per_item=1), seed=5)
    swapped = simulate_ladder(small_config(benchmarks=small_config().benchmarks[::-1]), seed=5)
    for bench in base.benchmark_names:
        pd.testing.assert_frame_equal(base.items[bench], greedy.items[bench])
        pd.testing.assert_frame_equal(base.items[bench], swapped.items[bench])
        pd.testing.assert_frame_equal(
            base.ladder.benchmarks[bench].scores, swapped.ladder.benchmarks[bench].scores
        )
    pd.testing.assert_frame_equal(base.offsets, greedy.offsets)


# ------------------------------------------------------------------------------ format
def test_ladder_format(sim):
    lad = sim.ladder
    assert list(lad.models.columns) == list(MODEL_COLUMNS[1:])
    assert lad.models.index.name == "model"
    assert lad.models["flops"].is_monotonic_increasing
    np.testing.assert_allclose(
        lad.models["flops"], 6 * lad.models["params"] * lad.models["tokens"], rtol=1e-12
    )
    rungs = lad.models.loc[lad.ladder_models]
    np.testing.assert_allclose(rungs["tokens"], 20 * rungs["params"], rtol=1e-12)
    for bench, res in lad.benchmarks.items():
        assert res.scores.index.name == "item" and res.scores.columns.name == "model"
        assert list(res.scores.columns) == list(lad.models.index)
        assert res.samples.shape == res.scores.shape
        assert (res.samples.to_numpy() == 100).all()
        assert res.guess_rate == sim.config.benchmark(bench).guess_rate
        assert res.scores.index.equals(sim.items[bench].index)
        vals = res.scores.to_numpy()
        assert np.isfinite(vals).all() and vals.min() >= 0 and vals.max() <= 1


def test_round_trip_through_from_tidy(sim):
    pytest.importorskip("codbayes.data.validate")
    lad = sim.ladder
    results = pd.concat(
        [
            res.scores.stack()
            .rename("score")
            .to_frame()
            .join(res.samples.stack().rename("samples"))
            .reset_index()
            .assign(benchmark=bench)
            for bench, res in lad.benchmarks.items()
        ]
    )
    models = lad.models.reset_index()
    rebuilt = Ladder.from_tidy(
        results, models, guess_rates={b: r.guess_rate for b, r in lad.benchmarks.items()}
    )
    assert list(rebuilt.models.index) == list(lad.models.index)
    assert rebuilt.anchor_models == lad.anchor_models
    for bench, res in lad.benchmarks.items():
        pd.testing.assert_frame_equal(
            rebuilt.benchmarks[bench].scores.loc[res.scores.index], res.scores, check_dtype=False
        )


def test_anchor_present_with_role_anchor(sim):
    lad = sim.ladder
    assert lad.anchor_models == ["anchor-72B"]
    row = lad.models.loc["anchor-72B"]
    assert row["role"] == "anchor" and row["family"] == "anchor"
    assert row["flops"] == pytest.approx(6 * 72e9 * 7e12)
    assert "anchor-72B" not in lad.ladder_models
    assert len(lad.ladder_models) == 6
    assert set(lad.models.loc[lad.ladder_models, "family"]) == {"sim"}
    # evaluated on every item; its offsets are centred on the family offset 0.3
    for res in lad.benchmarks.values():
        assert res.scores["anchor-72B"].notna().all()
    assert abs(sim.offsets.loc["anchor-72B"].mean() - 0.3) < 0.45


def test_no_anchor_and_two_anchors():
    none = simulate_ladder(small_config(anchors=()), seed=0)
    assert none.ladder.anchor_models == []
    two = simulate_ladder(
        small_config(anchors=(AnchorSpec(), AnchorSpec(name="b", params=7e9, tokens=2e12))),
        seed=0,
    )
    assert two.ladder.anchor_models == ["b", "anchor-72B"]  # compute order


# ------------------------------------------------------------------------------ paper scale
def test_paper_scale_shape_and_speed(paper):
    sim, seconds = paper
    assert seconds < 10
    lad = sim.ladder
    assert {b: r.n_items for b, r in lad.benchmarks.items()} == PAPER_ITEMS
    flops = lad.models.loc[lad.ladder_models, "flops"].to_numpy()
    assert flops.size == 8
    assert flops[0] == pytest.approx(4e19) and flops[-1] == pytest.approx(1.4e23)
    np.testing.assert_allclose(np.diff(np.log10(flops)), np.log10(1.4e23 / 4e19) / 7)
    for res in lad.benchmarks.values():
        assert (res.samples.to_numpy() == 100).all()
    assert sim.target_flops == PAPER_TARGET_FLOPS
    assert PAPER_TARGET_FLOPS / flops[-1] == pytest.approx(27.1, abs=0.1)


def test_paper_target_well_above_top_rung(paper):
    sim, _ = paper
    table = sim.summary_table()
    top, target = table[sim.config.rung_flops[-1]], table[PAPER_TARGET_FLOPS]
    gain = target - top
    assert (gain > 0.08).all()
    assert (gain > 0.2).sum() >= 1 and gain.max() < 0.4
    # items out of reach of the top rung but reached by the target (the hard case)
    items = sim.items["GSM8K"]
    regular = items[items["kind"] == "regular"]
    between = regular["difficulty"].between(np.log10(1.4e23) + 0.3, np.log10(PAPER_TARGET_FLOPS))
    assert between.mean() > 0.1


# ------------------------------------------------------------------------------ truth
def test_true_score_monotone_and_bounded(sim):
    flops = np.logspace(18, 26, 81)
    for bench in sim.benchmark_names:
        g = sim.config.benchmark(bench).guess_rate
        s = sim.true_score(bench, flops)
        assert s.shape == flops.shape
        assert s.min() >= g and s.max() <= 1
        steps = np.diff(s)
        assert steps.min() > -0.005  # noisy items wander, but only a little in aggregate
        within = (flops[1:] > 4e19) & (flops[1:] < 4e24)
        assert (steps[within] > 0).mean() > 0.8 and steps[within].min() > -0.002
        assert s[-1] - s[0] > 0.5
        # the ladder's own range spans a real increase
        lo, hi = sim.true_score(bench, [4e19, 1.4e23])
        assert hi - lo > 0.1


def test_true_score_broadcasts_offset(sim):
    s = sim.true_score("easy", 1e21, offset=np.array([0.0, 0.5]))
    assert s.shape == (2,)
    assert s[1] == pytest.approx(sim.true_score("easy", 10**21.5))
    assert isinstance(sim.true_score("easy", 1e21), float)
    with pytest.raises(ValueError):
        sim.true_score("easy", 0.0)


def test_guess_rate_floor(sim):
    for bench in sim.benchmark_names:
        g = sim.config.benchmark(bench).guess_rate
        p = sim.item_pass_probability(bench, [1e12, 1e20, 1e24, 1e30], jitter=False).to_numpy()
        assert p.min() >= g - 1e-12 and p.max() <= 1 + 1e-12
        # far below the ladder only noisy items lift the score above the guess rate
        low = sim.true_score(bench, 1e12)
        assert g <= low < g + 0.06
        # the observed bottom rung is not below guessing beyond binomial noise
        bottom = sim.ladder.scores().loc[sim.ladder.ladder_models[0], bench]
        assert bottom > g - _binomial_bound(sim.config.benchmark(bench).n_items, 100)
    assert sim.true_score("hard", 1e12) >= 0.25


def test_item_parameters_follow_spec(paper):
    sim, _ = paper
    spec = sim.config.benchmark("TriviaQA")
    items = sim.items["TriviaQA"]
    n = len(items)
    noisy = (items["kind"] == "noisy").mean()
    assert abs(noisy - spec.noisy_fraction) < 4 * np.sqrt(0.05 * 0.95 / n)
    assert abs(items["capped"].mean() - spec.capped_fraction) < 4 * np.sqrt(0.08 * 0.92 / n)
    reg = items[items["kind"] == "regular"]
    assert abs(reg["difficulty"].mean() - spec.difficulty_mean) < 4 * spec.difficulty_sd / np.sqrt(
        n
    )
    assert reg["difficulty"].std() == pytest.approx(spec.difficulty_sd, rel=0.05)
    assert np.median(reg["discrimination"]) == pytest.approx(spec.discrimination_median, rel=0.05)
    assert (items["ceiling"] <= 1).all() and (items["ceiling"][items["capped"]] < 1).all()
    assert items.loc[items["kind"] == "noisy", "difficulty"].isna().all()


def test_observed_scores_match_truth(sim):
    observed = sim.ladder.scores()
    n_items = sim.config.benchmarks[0].n_items
    # given every latent draw, only binomial noise remains
    cond = (observed - sim.model_true_scores).abs().to_numpy()
    assert cond.max() < _binomial_bound(n_items, 100)
    # against the smooth truth at the model's offset: binomial plus item-jitter noise
    for model in sim.ladder.ladder_models:
        flops = sim.ladder.models.loc[model, "flops"]
        for bench in sim.benchmark_names:
            truth = sim.true_score(bench, flops, sim.offsets.loc[model, bench])
            assert abs(observed.loc[model, bench] - truth) < 0.02
    # the rung offsets matter: ignoring them is worse on average
    errs_with, errs_without = [], []
    for model in sim.ladder.ladder_models:
        flops = sim.ladder.models.loc[model, "flops"]
        for bench in sim.benchmark_names:
            obs = observed.loc[model, bench]
            errs_with.append(abs(obs - sim.true_score(bench, flops, sim.offsets.loc[model, bench])))
            errs_without.append(abs(obs - sim.true_score(bench, flops)))
    assert np.mean(errs_with) < np.mean(errs_without)


def test_single_sample_gives_binary_scores():
    sim = simulate_ladder(small_config(samples_per_item=1), seed=0)
    vals = sim.ladder.benchmarks["easy"].scores.to_numpy()
    assert set(np.unique(vals)) == {0.0, 1.0}
    assert (sim.ladder.benchmarks["easy"].samples.to_numpy() == 1).all()


# ------------------------------------------------------------------------------ new models
def test_sample_model_is_reproducible_and_well_formed(sim):
    a = sim.sample_model(3.8e24, seed=7)
    b = sim.sample_model(3.8e24, seed=7)
    c = sim.sample_model(3.8e24, seed=8)
    pd.testing.assert_series_equal(a.scores, b.scores)
    assert a.offset == b.offset != c.offset
    assert a.name == "target"
    row = a.ladder.models.loc["target"]
    assert row["role"] == "ladder" and row["family"] == "sim"
    assert 6 * row["params"] * row["tokens"] == pytest.approx(3.8e24)
    for bench, res in a.ladder.benchmarks.items():
        assert res.scores.index.equals(sim.items[bench].index)
        assert abs(a.scores[bench] - a.true_scores[bench]) < _binomial_bound(len(res.scores), 100)
    merged = sim.ladder_with(a)
    assert merged.ladder_models[-1] == "target" and merged.anchor_models == ["anchor-72B"]
    assert merged.scores().loc["target", "easy"] == pytest.approx(a.scores["easy"])
    with pytest.raises(ValueError, match="duplicate"):
        sim.ladder_with(a, b)


def test_sample_model_fixed_offset_and_samples(sim):
    m = sim.sample_model(1e22, seed=1, name="t", samples=1, offset=0.2)
    assert m.offset == 0.2
    assert set(np.unique(m.ladder.benchmarks["hard"].scores.to_numpy())) <= {0.0, 1.0}
    assert (m.offsets - 0.2).abs().max() < 5 * sim.config.sigma_benchmark
    for bench in sim.benchmark_names:
        expected = sim.true_score(bench, 1e22, m.offsets[bench])
        assert abs(m.true_scores[bench] - expected) < 0.02


def test_sample_model_statistics_match_expected_target_score(sim):
    flops = 3.8e24
    draws = [sim.sample_model(flops, seed=s) for s in range(150)]
    offsets = np.array([d.offset for d in draws])
    assert np.std(offsets, ddof=1) == pytest.approx(sim.config.sigma_rung, rel=0.2)
    assert abs(offsets.mean()) < 4 * sim.config.sigma_rung / np.sqrt(len(draws))
    for bench in sim.benchmark_names:
        realised = np.array([d.scores[bench] for d in draws])
        expected = sim.expected_target_score(bench, flops)
        se = realised.std(ddof=1) / np.sqrt(len(draws))
        assert abs(realised.mean() - expected) < 4 * se
        # the offset spread makes the target uncertain beyond binomial noise
        assert realised.std(ddof=1) > _binomial_bound(300, 100, z=1.0)
        # averaging over offsets differs from plugging in offset 0, but only a little
        assert abs(expected - sim.true_score(bench, flops)) < 0.02


# ------------------------------------------------------------------------------ config
@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_items": 0},
        {"guess_rate": 1.0},
        {"noisy_fraction": 0.6, "capped_fraction": 0.6},
        {"ceiling_range": (0.9, 0.1)},
    ],
)
def test_bad_benchmark_spec_raises(kwargs):
    base = {"name": "x", "n_items": 10}
    with pytest.raises(ValueError):
        BenchmarkSpec(**(base | kwargs))


def test_bad_config_raises():
    bench = (BenchmarkSpec("x", 10),)
    with pytest.raises(ValueError):
        SimulationConfig(benchmarks=bench, rung_flops=(1e20, 1e19))
    with pytest.raises(ValueError):
        SimulationConfig(benchmarks=bench * 2, rung_flops=(1e19, 1e20))
    with pytest.raises(ValueError):
        SimulationConfig(benchmarks=bench, rung_flops=(1e19, 1e20), samples_per_item=0)
    with pytest.raises(KeyError):
        small_config().benchmark("nope")


def test_response_families_share_midpoint_and_differ_in_shape():
    """Both item responses pass half the range at the difficulty; only 'loss' is Gompertz-like."""
    from codbayes.data.simulate import _ItemArrays

    base = dict(
        guess=0.0,
        noisy=np.array([False]),
        difficulty=np.array([22.0]),
        discrimination=np.array([2.0]),
        ceiling=np.array([1.0]),
        level=np.zeros(1),
        amplitude=np.zeros(1),
        period=np.ones(1),
        phase=np.zeros(1),
    )
    x = np.array([[20.0, 22.0, 24.0]])
    loss = _ItemArrays(**base, response="loss").pass_probability(x)[0]
    logistic = _ItemArrays(**base, response="logistic").pass_probability(x)[0]
    assert loss[1] == pytest.approx(0.5) and logistic[1] == pytest.approx(0.5)
    assert loss[0] < logistic[0]  # the loss model's lower tail is thinner (double exponential)
    with pytest.raises(ValueError, match="response"):
        small_config(response="probit")
