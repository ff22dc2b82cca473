"""Point subset-to-full mapping."""

from __future__ import annotations

import numpy as np
import pytest

from codbayes.mapping import SubsetMapping

GRID = np.linspace(0.0, 1.0, 2001)
SUBSET = np.array([0.04, 0.1, 0.18, 0.27, 0.36, 0.47, 0.58, 0.66, 0.8])  # 8 rungs + anchor


def _check_monotone(mapping: SubsetMapping) -> None:
    values = mapping(GRID)
    assert values[0] == 0.0
    assert values[-1] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(values) >= -1e-12)
    assert np.all((values >= 0) & (values <= 1))


def test_smooth_data_spline_within_tolerance():
    rng = np.random.default_rng(0)
    full = 0.85 * SUBSET**1.3 + rng.normal(0, 0.002, SUBSET.size)
    m = SubsetMapping(tolerance=0.005).fit(SUBSET, full)
    assert m.kind_ == "spline"
    assert m.rmse_ < 0.005
    _check_monotone(m)
    # close to the generating curve between the points
    mid = np.linspace(0.05, 0.75, 30)
    assert np.max(np.abs(m(mid) - 0.85 * mid**1.3)) < 0.01


def test_tighter_tolerance_is_met():
    rng = np.random.default_rng(1)
    full = 0.7 * SUBSET + 0.1 * SUBSET**2 + rng.normal(0, 0.003, SUBSET.size)
    loose = SubsetMapping(tolerance=0.02).fit(SUBSET, full)
    tight = SubsetMapping(tolerance=0.001).fit(SUBSET, full)
    assert loose.rmse_ < 0.02
    assert tight.rmse_ < 0.001
    assert tight.smoothing_ < loose.smoothing_


def test_non_monotone_data_fall_back_to_monotone_pchip():
    subset = np.array([0.1, 0.2, 0.3, 0.35, 0.5])
    full = np.array([0.1, 0.3, 0.15, 0.5, 0.45])  # zig-zag
    m = SubsetMapping().fit(subset, full)
    assert m.kind_ == "pchip"
    _check_monotone(m)
    # the isotonic pooling: 0.3 and 0.15 average to 0.225, 0.5 and 0.45 to 0.475
    assert m(0.25) == pytest.approx(0.225)
    assert m(0.5) == pytest.approx(0.475)


def test_extrapolation_beyond_largest_subset_score():
    subset = np.array([0.05, 0.1, 0.15, 0.2, 0.3])
    full = np.array([0.02, 0.05, 0.08, 0.12, 0.2])
    m = SubsetMapping().fit(subset, full)
    _check_monotone(m)
    beyond = m(np.array([0.3, 0.5, 0.7, 0.9, 1.0, 1.3]))
    assert np.all(np.diff(beyond) >= 0)
    assert beyond[-1] == pytest.approx(1.0)
    assert m(-0.2) == 0.0


def test_endpoint_pairs_dropped_and_duplicates_merged():
    subset = np.array([0.0, 0.2, 0.2, 0.4, np.nan, 1.0])
    full = np.array([0.05, 0.1, 0.12, 0.3, 0.5, 0.9])
    m = SubsetMapping().fit(subset, full)
    assert m.subset_.tolist() == [0.2, 0.2, 0.4]
    _check_monotone(m)


def test_few_points_and_identity():
    one = SubsetMapping().fit([0.3], [0.2])
    assert one.kind_ == "pchip"
    assert one(0.3) == pytest.approx(0.2)
    _check_monotone(one)
    empty = SubsetMapping().fit([], [])
    assert empty.kind_ == "identity"
    assert empty(0.37) == pytest.approx(0.37)
    _check_monotone(empty)


def test_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        SubsetMapping()(0.5)
    with pytest.raises(ValueError, match="match"):
        SubsetMapping().fit([0.1, 0.2], [0.1])
