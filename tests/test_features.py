"""Difficulty features: masks, feature matrix and smoothing across rungs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression

from codbayes.data.ladder import Ladder
from codbayes.features import difficulty_features, smooth_pass_rates

# item -> pass rates on the 3 ladder rungs (None: not evaluated); the anchor gets 0.9 everywhere
RATES = {
    "easy": (0.6, 0.8, 1.0),
    "dip": (0.2, 0.1, 0.7),
    "zero": (0.0, 0.0, 0.0),
    "zero-gap": (0.0, None, 0.0),
    "gap": (0.3, None, 0.5),
    "late": (0.0, 0.0, 0.4),
}
SAMPLES = (10, 10, 20)


def _ladder() -> Ladder:
    models = pd.DataFrame(
        {
            # listed out of compute order on purpose
            "model": ["r3", "r1", "anchor", "r2"],
            "params": [4e9, 1e8, 7e10, 6e8],
            "tokens": [8e10, 2e9, 1e12, 1.2e10],
            "role": ["ladder", "ladder", "anchor", "ladder"],
        }
    )
    rows = []
    for item, rates in RATES.items():
        for model, rate, n in zip(("r1", "r2", "r3"), rates, SAMPLES, strict=True):
            if rate is not None:
                rows.append(("b", item, model, rate, n))
        rows.append(("b", item, "anchor", 0.9, 10))
    results = pd.DataFrame(rows, columns=["benchmark", "item", "model", "score", "samples"])
    return Ladder.from_tidy(results, models)


@pytest.fixture(scope="module")
def ladder() -> Ladder:
    return _ladder()


def test_masks_partition_items(ladder: Ladder) -> None:
    f = difficulty_features(ladder, "b")
    items = list(f.items)
    assert sorted(items) == sorted(RATES)
    assert f.models == ["r1", "r2", "r3"]  # ladder only, by compute
    assert [items[i] for i in np.flatnonzero(f.all_zero)] == ["zero"]
    assert sorted(items[i] for i in np.flatnonzero(f.missing)) == ["gap", "zero-gap"]
    assert sorted(f.kept_items) == ["dip", "easy", "late"]
    assert np.array_equal(f.kept, ~f.all_zero & ~f.missing)
    assert f.n_items == 6


def test_feature_rows_are_kept_items_pass_rates(ladder: Ladder) -> None:
    f = difficulty_features(ladder, "b")
    assert f.X.shape == (3, 3)
    for row, item in zip(f.X, f.kept_items, strict=True):
        assert np.array_equal(row, RATES[item])


def test_isotonic_smoothing_is_sample_weighted_monotone_fit(ladder: Ladder) -> None:
    f = difficulty_features(ladder, "b", smoothing="isotonic")
    dip = f.X[list(f.kept_items).index("dip")]
    # 0.2 and 0.1 (10 samples each) pool to 0.15; 0.7 stays
    assert np.allclose(dip, [0.15, 0.15, 0.7])
    easy = f.X[list(f.kept_items).index("easy")]
    assert np.array_equal(easy, RATES["easy"])  # already monotone: unchanged


def test_isotonic_matches_sklearn_on_random_rows() -> None:
    rng = np.random.default_rng(3)
    rates = rng.random((50, 7))
    samples = rng.integers(1, 100, size=(50, 7))
    out = smooth_pass_rates(rates, samples, "isotonic")
    x = np.arange(7.0)
    for row, n, got in zip(rates, samples, out, strict=True):
        want = IsotonicRegression().fit_transform(x, row, sample_weight=n)
        assert np.allclose(got, want)
    assert np.all(np.diff(out, axis=1) >= -1e-12)


def test_moving_average_pools_samples_and_truncates_at_ends() -> None:
    rates = np.array([[0.0, 0.5, 1.0]])
    samples = np.array([[10, 10, 20]])
    out = smooth_pass_rates(rates, samples, 3)
    # ends: (0 + 5) / 20 and (5 + 20) / 30; middle: (0 + 5 + 20) / 40
    assert np.allclose(out, [[0.25, 0.625, 25 / 30]])
    assert np.array_equal(smooth_pass_rates(rates, samples, 1), rates)


def test_smoothing_steps_apply_in_order() -> None:
    rates = np.array([[0.4, 0.0, 0.4, 1.0]])
    samples = np.ones((1, 4))
    both = smooth_pass_rates(rates, samples, ("isotonic", 3))
    by_hand = smooth_pass_rates(smooth_pass_rates(rates, samples, "isotonic"), samples, 3)
    assert np.array_equal(both, by_hand)
    assert np.allclose(smooth_pass_rates(rates, samples, "isotonic"), [[0.2, 0.2, 0.4, 1.0]])


@pytest.mark.parametrize("bad", ["median", 2, 0, -3, True])
def test_bad_smoothing_raises(bad: object) -> None:
    with pytest.raises(ValueError, match=r"smoothing|window"):
        smooth_pass_rates(np.zeros((1, 3)), np.ones((1, 3)), bad)


def test_smoothing_keeps_masks_and_all_zero_decided_on_raw_rates(ladder: Ladder) -> None:
    raw = difficulty_features(ladder, "b")
    smooth = difficulty_features(ladder, "b", smoothing=("isotonic", 3))
    for name in ("kept", "all_zero", "missing"):
        assert np.array_equal(getattr(raw, name), getattr(smooth, name))
    assert np.all((smooth.X >= 0) & (smooth.X <= 1))


def test_on_simulated_ladder() -> None:
    from codbayes.data.simulate import simulate_ladder, small_config

    sim = simulate_ladder(small_config(), seed=0)
    f = difficulty_features(sim.ladder, "easy")
    rates = sim.ladder.pass_rates("easy").to_numpy()
    assert f.X.shape == (int(f.kept.sum()), len(sim.ladder.ladder_models))
    assert np.array_equal(f.X, rates[f.kept])
    assert np.array_equal(f.all_zero, (rates == 0).all(axis=1))
