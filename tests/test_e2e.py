"""End-to-end baselines: each recovers the form it assumes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from codbayes.data.ladder import BenchmarkResults, Ladder
from codbayes.laws import cod_law
from codbayes.methods import get_method
from codbayes.methods.base import NotFittedError
from codbayes.methods.e2e import (
    EndToEndExp,
    EndToEndPassRate,
    EndToEndSigmoid,
    fit_sigmoid,
    sigmoid_curve,
)

UNIT = 4e19
FLOPS = UNIT * np.geomspace(1, 3500, 8)
TARGET = 27 * FLOPS[-1]
N_ITEMS = 2000


def _curve_ladder(curves: dict[str, np.ndarray], guess: dict[str, float] | None = None) -> Ladder:
    """A ladder whose full score on each benchmark is exactly the given curve (+ an anchor).

    Item ``i`` passes iff ``i / n_items < score``, so the mean pass rate reproduces the curve up
    to 1 / n_items.
    """
    names = [f"m{i}" for i in range(FLOPS.size)] + ["anchor"]
    models = pd.DataFrame(
        {
            "params": np.r_[FLOPS, 1e25] / 6e12,
            "tokens": 1e12,
            "flops": np.r_[FLOPS, 1e25],
            "role": ["ladder"] * FLOPS.size + ["anchor"],
            "family": "test",
        },
        index=pd.Index(names, name="model"),
    )
    items = pd.Index([f"q{i}" for i in range(N_ITEMS)], name="item")
    benches = {}
    for bench, curve in curves.items():
        score = np.r_[curve, 0.0]  # the anchor scores 0: must not influence the fits
        rates = (np.arange(N_ITEMS)[:, None] + 0.5 < score[None, :] * N_ITEMS).astype(float)
        scores = pd.DataFrame(rates, index=items, columns=pd.Index(names, name="model"))
        benches[bench] = BenchmarkResults(
            bench, scores, (scores * 0 + 1).astype(np.int64), (guess or {}).get(bench)
        )
    return Ladder(models=models, benchmarks=benches, name="curves")


def _x(flops):
    return np.asarray(flops) / UNIT


def test_exp_recovers_cod_law_with_pinned_guess():
    truth = (0.25, 4.0, 0.45, 0.15)
    ladder = _curve_ladder({"mc": cod_law(_x(FLOPS), *truth)}, guess={"mc": 0.25})
    method = EndToEndExp().fit(ladder)
    assert method.params_["mc"]["g"] == 0.25
    assert method.params_["mc"]["b"] == pytest.approx(0.45, abs=0.02)
    pred = method.predict(TARGET)
    assert pred.scores("mc")[0] == pytest.approx(cod_law(_x(TARGET), *truth), abs=0.005)
    assert pred.n_draws == 1 and pred.method == "e2e-exp"


def test_passrate_recovers_power_law_of_neg_log_score():
    alpha, k = 6.0, 0.3
    ladder = _curve_ladder({"gen": np.exp(-alpha * _x(FLOPS) ** -k)})
    method = EndToEndPassRate().fit(ladder)
    assert method.params_["gen"]["alpha"] == pytest.approx(alpha, rel=0.03)
    assert method.params_["gen"]["k"] == pytest.approx(k, abs=0.01)
    target = np.exp(-alpha * _x(TARGET) ** -k)
    assert method.predict(TARGET).scores("gen")[0] == pytest.approx(target, abs=0.005)


def test_sigmoid_recovers_sigmoid_with_pinned_floor():
    truth = {"lo": 0.25, "hi": 0.9, "k": 0.9, "m": 6.0}
    ladder = _curve_ladder({"mc": sigmoid_curve(_x(FLOPS), **truth)}, guess={"mc": 0.25})
    method = EndToEndSigmoid().fit(ladder)
    params = method.params_["mc"]
    assert params["lo"] == 0.25
    assert params["k"] == pytest.approx(0.9, rel=0.05)
    assert params["m"] == pytest.approx(6.0, abs=0.1)
    target = sigmoid_curve(_x(TARGET), **truth)
    assert method.predict(TARGET).scores("mc")[0] == pytest.approx(target, abs=0.01)


def test_fit_sigmoid_free_floor():
    x = np.geomspace(1, 3500, 10)
    truth = {"lo": 0.1, "hi": 0.8, "k": 1.2, "m": 4.0}
    params, rmse = fit_sigmoid(x, sigmoid_curve(x, **truth))
    assert rmse < 1e-4
    assert [params[k] for k in truth] == pytest.approx(list(truth.values()), abs=0.01)


def test_forms_differ_on_the_same_data():
    curve = cod_law(_x(FLOPS), 0.0, 4.0, 0.45, 0.6)  # ceiling e^-0.6 = 0.55
    ladder = _curve_ladder({"b": curve})
    far = 1e4 * FLOPS[-1]
    exp = EndToEndExp().fit(ladder).predict(far).scores("b")[0]
    passrate = EndToEndPassRate().fit(ladder).predict(far).scores("b")[0]
    assert exp == pytest.approx(np.exp(-0.6), abs=0.03)  # knows the ceiling
    assert passrate > 0.7  # no ceiling: heads to 1


def test_info_and_multiple_targets_and_registry():
    ladder = _curve_ladder({"a": cod_law(_x(FLOPS), 0, 3, 0.5, 0.1), "b": np.linspace(0, 0.5, 8)})
    for name in ("e2e-exp", "e2e-passrate", "e2e-sigmoid"):
        method = get_method(name, seed=1, draws=10, progressbar=False)
        pred = method.fit(ladder).predict([FLOPS[-1], TARGET])
        assert pred.draws.shape == (2, 2, 1)
        assert np.all((pred.draws >= 0) & (pred.draws <= 1))
        assert np.all(np.diff(pred.draws[:, :, 0], axis=1) >= 0)
        info = pred.info["a"]
        assert info["n_items"] == N_ITEMS
        assert math.isnan(info["n_clusters"]) and math.isnan(info["subset_fraction"])
        js = pred.to_json_dict(1)["benchmarks"]["a"]
        assert js["n_clusters"] is None and js["n_items"] == N_ITEMS


def test_not_fitted_and_deterministic():
    with pytest.raises(NotFittedError):
        EndToEndExp().predict(1e24)
    rng = np.random.default_rng(0)
    noisy = np.clip(cod_law(_x(FLOPS), 0, 3, 0.5, 0.1) + rng.normal(0, 0.02, 8), 0, 1)
    ladder = _curve_ladder({"a": noisy})
    one = EndToEndSigmoid().fit(ladder).predict(TARGET).draws
    two = EndToEndSigmoid().fit(ladder).predict(TARGET).draws
    assert np.array_equal(one, two)
