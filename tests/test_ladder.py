"""The Ladder data model: views, ordering, selections."""

import numpy as np
import pytest

from codbayes.data.ladder import Ladder


@pytest.fixture
def ladder(tidy_tables):
    t = tidy_tables
    return Ladder.from_tidy(t["results"], t["models"], guess_rates={"bench_a": 0.25})


def test_models_sorted_by_compute_with_default_flops(ladder):
    flops = ladder.compute
    assert list(ladder.models.index[:4]) == ["m-small", "m-medium", "m-large", "m-xl"]
    assert flops["m-small"] == pytest.approx(6 * 1e8 * 2e10)
    assert np.isnan(flops["m-anchor"])  # anchors need no compute
    assert ladder.ladder_models == ["m-small", "m-medium", "m-large", "m-xl"]
    assert ladder.anchor_models == ["m-anchor"]


def test_pass_rate_matrix_ordered_by_compute(ladder, tidy_tables):
    matrix = ladder.pass_rates("bench_b")
    assert list(matrix.columns) == ladder.ladder_models
    assert matrix.shape == (6, 4)
    res = tidy_tables["results"]
    expect = res[(res.benchmark == "bench_b") & (res.item == "q3") & (res.model == "m-large")]
    assert matrix.loc["q3", "m-large"] == pytest.approx(expect.score.iloc[0])
    assert (ladder.samples("bench_b").to_numpy() == 10).all()
    with_anchor = ladder.pass_rates("bench_a", ladder.models.index)
    assert list(with_anchor.columns)[-1] == "m-anchor"


def test_full_scores_are_item_means(ladder):
    scores = ladder.scores()
    assert scores.loc["m-xl", "bench_a"] == pytest.approx(
        ladder.pass_rates("bench_a")["m-xl"].mean()
    )
    assert ladder.guess_rate("bench_a") == 0.25 and ladder.guess_rate("bench_b") is None


def test_selections(ladder):
    small = ladder.below(ladder.compute["m-xl"])
    assert small.ladder_models == ["m-small", "m-medium", "m-large"]
    assert small.anchor_models == ["m-anchor"]
    train, held = ladder.holdout_largest(1)
    assert held.ladder_models == ["m-xl"] and "m-xl" not in train.models.index
    assert train.pass_rates("bench_a").shape == (6, 3)
    with pytest.raises(ValueError):
        ladder.holdout_largest(4)
    switched = ladder.with_roles({"m-large": "anchor"})
    assert switched.anchor_models == ["m-large", "m-anchor"]
    with pytest.raises(KeyError):
        ladder.select(["nope"])


def test_summary_lists_models_by_compute(ladder):
    text = ladder.summary()
    assert text.index("m-small") < text.index("m-xl") < text.index("m-anchor")
    assert "no compute" in text and "guess rate 0.25" in text
