"""Prediction: summaries, intervals, probabilities and the JSON schema."""

import json
import math

import numpy as np
import pytest
from _contract import JSON_FIELDS

from codbayes.prediction import Prediction


@pytest.fixture
def prediction():
    rng = np.random.default_rng(1)
    draws = np.stack([rng.beta(40, 60, size=(2, 4000)), rng.beta(80, 20, size=(2, 4000))])
    info = {
        "gsm8k": {"n_items": 1319, "n_clusters": 12, "n_extrapolatable": 9, "subset_fraction": 0.71}
    }
    return Prediction(
        "cod-bayes",
        [1e24, 4e24],
        ["gsm8k", "math"],
        draws,
        info=info,
        diagnostics={"max_rhat": 1.004, "min_ess_bulk": 850.0, "divergences": 0},
        seed=3,
    )


def test_summary_matches_draws(prediction):
    table = prediction.summary()
    assert table.shape[0] == 4
    row = table.loc[("gsm8k", 1e24)]
    d = prediction.scores("gsm8k", 0)
    assert row["mean"] == pytest.approx(d.mean())
    assert row["q05"] == pytest.approx(np.quantile(d, 0.05))
    assert row["q05"] < row["q25"] < row["median"] < row["q75"] < row["q95"]
    assert row["mean"] == pytest.approx(0.4, abs=0.01)


def test_interval_and_probability(prediction):
    iv = prediction.interval(0.9)
    lo, hi = iv.loc[("math", 4e24)]
    d = prediction.scores("math", 1)
    assert np.mean((d >= lo) & (d <= hi)) == pytest.approx(0.9, abs=0.005)
    p = prediction.prob_at_least(0.8)
    assert p.loc["math", 1e24] == pytest.approx(np.mean(prediction.scores("math", 0) >= 0.8))
    assert p.loc["gsm8k", 1e24] < 0.01


def test_json_schema(prediction):
    obj = json.loads(json.dumps(prediction.to_json_dict(target=1)))
    assert set(obj) == {"method", "target_flops", "seed", "benchmarks", "diagnostics"}
    assert obj["target_flops"] == 4e24 and obj["seed"] == 3
    assert set(obj["benchmarks"]["gsm8k"]) == JSON_FIELDS
    assert obj["benchmarks"]["gsm8k"]["n_clusters"] == 12
    assert obj["benchmarks"]["math"]["n_clusters"] is None  # unknown -> null, never NaN
    assert obj["diagnostics"] == {"max_rhat": 1.004, "min_ess_bulk": 850.0, "divergences": 0}


def test_point_prediction_fills_every_quantile():
    pred = Prediction.from_points("cod-point", 1e24, {"mbpp": [0.61]})
    obj = pred.to_json_dict()
    entry = obj["benchmarks"]["mbpp"]
    assert all(entry[k] == pytest.approx(0.61) for k in ("mean", "median", "q05", "q95"))
    assert entry["sd"] == 0.0
    assert all(v is None for v in obj["diagnostics"].values())
    assert not any(isinstance(v, float) and math.isnan(v) for v in entry.values())


def test_bad_shape_rejected():
    with pytest.raises(ValueError, match="shape"):
        Prediction("x", [1e24], ["a", "b"], np.zeros((1, 1, 5)))
