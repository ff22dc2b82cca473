"""Scoring functions, holdout splits and backtests."""

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from codbayes.data.ladder import BenchmarkResults, Ladder
from codbayes.errors import InputError
from codbayes.evaluate import (
    RECORD_COLUMNS,
    SUMMARY_COLUMNS,
    BacktestResult,
    absolute_error,
    backtest,
    covered,
    crps,
    holdout_splits,
    interval_width,
    log_predictive_density,
    pit,
)
from codbayes.methods.base import Predictor, as_flops
from codbayes.prediction import Prediction


# ---------------------------------------------------------------------- fixtures
def make_ladder(families=("a",), n_rungs=5, n_items=60, anchors=0, seed=0):
    """Ladder of ``n_rungs`` models per family, binary item results from a logistic model."""
    rng = np.random.default_rng(seed)
    rows = []
    for fam in families:
        for i in range(n_rungs):
            flops = 1e19 * 10 ** (i * 0.8)
            rows.append((f"{fam}{i}", flops / 6e10, 6e10 / 6, flops, "ladder", fam))
    for j in range(anchors):
        rows.append((f"anchor{j}", 1e12, 1e12, 5e24, "anchor", "other"))
    models = pd.DataFrame(rows, columns=["model", "params", "tokens", "flops", "role", "family"])
    models = models.set_index("model").sort_values("flops", kind="stable")
    benchmarks = {}
    for b, bench in enumerate(["easy", "hard"]):
        difficulty = rng.normal(1.0 + 2 * b, 1.5, size=n_items)
        ability = np.log10(models["flops"].to_numpy()) - 20
        p = 1 / (1 + np.exp(-(ability[None, :] - difficulty[:, None])))
        scores = pd.DataFrame(
            (rng.random(p.shape) < p).astype(float),
            index=pd.Index([f"i{k}" for k in range(n_items)], name="item"),
            columns=pd.Index(models.index, name="model"),
        )
        benchmarks[bench] = BenchmarkResults(bench, scores, scores * 0 + 1, None)
    return Ladder(models=models, benchmarks=benchmarks, name="toy")


class FakeBeta(Predictor):
    """Beta draws centred on the largest training rung's score plus a fixed offset."""

    name = "fake-beta"

    def __init__(self, offset=0.05, concentration=200.0, draws=2000, seed=0, fail=False):
        self.offset = offset
        self.concentration = concentration
        self.draws = draws
        self.seed = seed
        self.fail = fail

    def fit(self, ladder):
        if self.fail:
            raise InputError("no loss data in the ladder (FLP needs per-model losses)")
        self.ladder_ = ladder
        self.top_ = ladder.scores().loc[ladder.ladder_models[-1]]
        return self

    def predict(self, target_flops):
        self._check_fitted()
        flops = as_flops(target_flops)
        rng = np.random.default_rng(self.seed)
        mean = np.clip(self.top_.to_numpy() + self.offset, 0.01, 0.99)
        a, b = mean * self.concentration, (1 - mean) * self.concentration
        d = rng.beta(a[:, None, None], b[:, None, None], size=(len(mean), flops.size, self.draws))
        return Prediction(self.name, flops, list(self.top_.index), d)


class FakePoint(FakeBeta):
    """One-draw prediction: the largest training rung's score plus an offset."""

    name = "fake-point"

    def predict(self, target_flops):
        flops = as_flops(target_flops)
        points = {b: np.full(flops.size, v + self.offset) for b, v in self.top_.items()}
        return Prediction.from_points(self.name, flops, points)


# ---------------------------------------------------------------------- scoring functions
def test_point_prediction_scores():
    x = np.array([[0.4], [0.7]])
    y = np.array([0.5, 0.65])
    assert crps(x, y) == pytest.approx([0.1, 0.05])
    assert absolute_error(x, y) == pytest.approx([0.1, 0.05])
    assert interval_width(x, 0.9) == pytest.approx([0, 0])
    assert not covered(x, y, 0.9).any()
    assert covered(x, x[:, 0], 0.9).all()  # an exact hit is covered
    assert np.isnan(log_predictive_density(x, y)).all()
    assert pit(x, y) == pytest.approx([1.0, 0.0])


def test_crps_of_standard_normal_at_zero():
    rng = np.random.default_rng(0)
    draws = rng.standard_normal((20, 5000))
    # closed form for N(0,1) at y = 0: 2 phi(0) - 1/sqrt(pi) = 0.23370
    assert crps(draws, 0.0).mean() == pytest.approx(0.2337, abs=0.005)
    # at y = 1: 1 * (2 Phi(1) - 1) + 2 phi(1) - 1 / sqrt(pi)
    exact = (2 * stats.norm.cdf(1) - 1) + 2 * stats.norm.pdf(1) - 1 / np.sqrt(np.pi)
    assert crps(draws, 1.0).mean() == pytest.approx(exact, abs=0.005)


def test_crps_matches_brute_force_energy_form():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=37), 0.3
    brute = np.abs(x - y).mean() - 0.5 * np.abs(x[:, None] - x[None, :]).mean()
    assert crps(x, y) == pytest.approx(brute, rel=1e-12)


def test_crps_prefers_sharp_correct_forecasts():
    rng = np.random.default_rng(2)
    sharp, wide, biased = rng.normal(0, 0.1, 4000), rng.normal(0, 1, 4000), rng.normal(1, 0.1, 4000)
    assert crps(sharp, 0.0) < crps(wide, 0.0) < crps(biased, 0.0)


def test_interval_width_and_median_error_of_known_distribution():
    rng = np.random.default_rng(3)
    draws = rng.normal(0.5, 0.02, size=(3, 100_000))
    assert interval_width(draws, 0.9) == pytest.approx(2 * 1.6449 * 0.02, rel=0.02)
    assert interval_width(draws, 0.5) == pytest.approx(2 * 0.6745 * 0.02, rel=0.02)
    assert absolute_error(draws, [0.5, 0.52, 0.45]) == pytest.approx([0, 0.02, 0.05], abs=5e-4)


def test_coverage_of_calibrated_draws_is_nominal():
    rng = np.random.default_rng(4)
    n_cases = 4000
    mean = rng.uniform(0.2, 0.8, n_cases)
    draws = rng.normal(mean[:, None], 0.03, size=(n_cases, 1000))
    y = rng.normal(mean, 0.03)  # truth drawn from the predictive distribution
    assert covered(draws, y, 0.9).mean() == pytest.approx(0.9, abs=0.02)
    assert covered(draws, y, 0.5).mean() == pytest.approx(0.5, abs=0.03)
    assert covered(draws * 0 + mean[:, None], y, 0.9).mean() == 0  # point forecasts cover nothing
    # overconfident draws (sd a third of the truth's) cover far less
    narrow = rng.normal(mean[:, None], 0.01, size=(n_cases, 1000))
    assert covered(narrow, y, 0.9).mean() < 0.5
    # calibrated PIT is uniform
    assert stats.kstest(pit(draws, y), "uniform").pvalue > 0.01


def test_log_density_matches_known_density():
    rng = np.random.default_rng(5)
    draws = rng.normal(0.6, 0.03, size=20_000)
    exact = stats.norm(0.6, 0.03).logpdf([0.6, 0.65])
    est = log_predictive_density(draws, [0.6, 0.65], scale="identity")
    assert est == pytest.approx(exact, abs=0.1)  # MC error of a KDE in the tail
    # logit-scale KDE targets the same density of the score
    est_logit = log_predictive_density(draws, [0.6, 0.65])
    assert est_logit == pytest.approx(exact, abs=0.1)
    # far outside the draws it is finite and very low
    far = log_predictive_density(draws, 0.95)
    assert np.isfinite(far) and far < exact[1] - 20
    # constant draws: NaN by convention
    assert np.isnan(log_predictive_density(np.full(100, 0.5), 0.5))


def test_scores_broadcast_over_leading_axes():
    draws = np.random.default_rng(6).beta(20, 20, size=(2, 3, 500))
    y = np.full((2, 3), 0.5)
    for f in (absolute_error, crps, log_predictive_density, pit):
        assert f(draws, y).shape == (2, 3)
    assert covered(draws, y).shape == interval_width(draws).shape == (2, 3)


# ---------------------------------------------------------------------- splits
def test_largest_and_k_largest_splits():
    ladder = make_ladder(n_rungs=6, anchors=1)
    (split,) = holdout_splits(ladder, "largest")
    assert split.ok and split.held_out == ["a5"]
    assert split.train.ladder_models == ["a0", "a1", "a2", "a3", "a4"]
    assert split.train.anchor_models == ["anchor0"]
    assert split.test.compute["a5"] == ladder.compute["a5"]
    (split,) = holdout_splits(ladder, "k-largest", k=3)
    assert split.held_out == ["a3", "a4", "a5"] and len(split.train.ladder_models) == 3
    (split,) = holdout_splits(ladder, "k-largest", k=4)
    assert not split.ok and "need at least 3" in split.reason
    with pytest.raises(ValueError, match="holdout"):
        holdout_splits(ladder, "random")


def test_family_splits_train_on_one_family():
    ladder = make_ladder(families=("a", "b", "c"), n_rungs=4, anchors=1)
    ladder = ladder.drop(["c0"])  # family c keeps 3 rungs: training would have only 2
    splits = holdout_splits(ladder, "family")
    assert [s.name for s in splits] == ["family=a", "family=b", "family=c"]
    a, b, c = splits
    assert a.held_out == ["a3"] and a.train.ladder_models == ["a0", "a1", "a2"]
    assert b.held_out == ["b3"] and set(b.train.ladder_models) == {"b0", "b1", "b2"}
    assert a.train.anchor_models == ["anchor0"]
    assert not c.ok and "2 rung(s)" in c.reason


# ---------------------------------------------------------------------- backtest
def test_backtest_records_with_fake_predictors():
    ladder = make_ladder(n_rungs=6)
    result = backtest(
        ladder, {"beta": FakeBeta(), "point": FakePoint(offset=0.0), "flp": FakeBeta(fail=True)},
        holdout="k-largest", k=2,
    )  # fmt: skip
    rec = result.records
    assert list(rec.columns) == list(RECORD_COLUMNS)
    assert len(rec) == 2 * 2 * 2  # 2 methods x 2 benchmarks x 2 held-out models
    assert set(rec["model"]) == {"a4", "a5"}
    actual = ladder.scores()
    row = rec[(rec.method == "point") & (rec.model == "a5") & (rec.benchmark == "hard")].iloc[0]
    assert row["actual"] == pytest.approx(actual.loc["a5", "hard"])
    assert row["median"] == pytest.approx(actual.loc["a3", "hard"])  # largest training rung
    assert row["abs_error"] == pytest.approx(abs(row["median"] - row["actual"]))
    assert row["crps"] == pytest.approx(row["abs_error"])
    assert row["width90"] == 0 and np.isnan(row["log_density"])
    beta = rec[rec.method == "beta"]
    assert (beta["q05"] < beta["q25"]).all() and (beta["q75"] < beta["q95"]).all()
    assert (beta["width90"] > beta["width50"]).all() and np.isfinite(beta["log_density"]).all()
    assert (beta["flops"] > beta["train_max_flops"]).all()
    # the failing method is recorded, not raised
    assert result.skipped[["split", "method", "stage", "error"]].values.tolist() == [
        ["2-largest", "flp", "fit", "InputError"]
    ]
    assert "loss data" in result.skipped["reason"].iloc[0]
    with pytest.raises(InputError):
        backtest(ladder, {"flp": FakeBeta(fail=True)}, raise_errors=True)


def test_backtest_summaries_and_output():
    ladder = make_ladder(families=("a", "b"), n_rungs=5)
    result = backtest(ladder, {"beta": FakeBeta(), "point": FakePoint()}, holdout="family")
    assert isinstance(result, BacktestResult)
    assert result.splits == ["family=a", "family=b"] and result.skipped.empty
    overall = result.overall()
    assert list(overall.columns) == list(SUMMARY_COLUMNS)
    rec = result.records
    for method in ("beta", "point"):
        sub = rec[rec.method == method]
        assert overall.loc[method, "n"] == 4
        assert overall.loc[method, "mae"] == pytest.approx(sub["abs_error"].mean())
        assert overall.loc[method, "coverage90"] == pytest.approx(sub["covered90"].mean())
    assert overall.loc["point", "coverage90"] == 0
    assert np.isnan(overall.loc["point", "log_density"])
    per = result.per_benchmark()
    assert per.shape[0] == 4 and per.loc[("beta", "hard"), "n"] == 2
    assert per.loc[("beta", "hard"), "crps"] == pytest.approx(
        rec[(rec.method == "beta") & (rec.benchmark == "hard")]["crps"].mean()
    )
    data = json.loads(json.dumps(result.to_json_dict()))
    assert data["holdout"] == "family" and len(data["records"]) == 8
    assert data["overall"]["point"]["log_density"] is None
    assert data["per_benchmark"]["beta"]["easy"]["n"] == 2
    text = result.format_table()
    assert "beta" in text and "point" in text and "MAE" in text and "skipped" not in text


def test_backtest_with_skipped_split_and_no_cases():
    ladder = make_ladder(n_rungs=4)
    result = backtest(ladder, {"beta": FakeBeta()}, holdout="k-largest", k=2)
    assert result.records.empty and list(result.records.columns) == list(RECORD_COLUMNS)
    assert result.skipped["method"].tolist() == ["*"]
    assert result.overall().empty
    assert "no case was scored" in result.format_table() and "need at least 3" in (
        result.format_table()
    )
    json.dumps(result.to_json_dict())


def test_backtest_by_method_name_and_params(monkeypatch):
    import codbayes.methods as methods

    monkeypatch.setitem(methods.REGISTRY, "fake-beta", f"{__name__}:FakeBeta")
    ladder = make_ladder(n_rungs=5)
    result = backtest(
        ladder,
        ["fake-beta"],
        method_params={"*": {"seed": 3, "unused": 1}, "fake-beta": {"offset": 0.0}},
        progress=True,
    )
    rec = result.records
    top = ladder.scores().loc["a3"]
    assert rec["method"].unique().tolist() == ["fake-beta"]
    assert rec.set_index("benchmark")["mean"].to_dict() == pytest.approx(top.to_dict(), abs=0.01)


# ---------------------------------------------------------------------- real methods
def _have(module):
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(
    not (_have("codbayes.data.simulate") and _have("codbayes.methods.cod_point")
         and _have("codbayes.methods.e2e")),
    reason="simulator or point methods not available yet",
)  # fmt: skip
def test_backtest_point_methods_on_simulated_ladder():
    from codbayes.data.simulate import simulate_ladder, small_config

    sim = simulate_ladder(small_config(), seed=0)
    result = backtest(sim.ladder, ["cod-point", "e2e-exp", "flp"], holdout="k-largest", k=2)
    # FLP needs loss data the simulated ladder does not have: skipped with the reason
    assert result.skipped["method"].tolist() == ["flp"]
    assert "loss" in result.skipped["reason"].iloc[0]
    overall = result.overall()
    n_cases = 2 * len(sim.ladder.benchmark_names)
    assert overall.loc["cod-point", "n"] == overall.loc["e2e-exp", "n"] == n_cases
    assert (overall["n_draws"] == 1).all()
    assert (overall["mae"] < 0.25).all()
    rec = result.records
    assert rec["crps"].to_numpy() == pytest.approx(rec["abs_error"].to_numpy())
    held = sim.ladder.ladder_models[-2:]
    actual = sim.ladder.scores().loc[held]
    for _, row in rec.iterrows():
        assert row["actual"] == pytest.approx(actual.loc[row["model"], row["benchmark"]])
    text = result.format_table()
    assert "cod-point" in text and "flp (fit)" in text
