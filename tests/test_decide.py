"""Compute planning and training monitoring, checked against the draws directly."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy.special import expit, logit

from codbayes.data.simulate import simulate_ladder, small_config
from codbayes.decide import (
    flops_grid,
    monitor,
    plan_compute,
    plan_from_prediction,
    plot_monitor,
    plot_probability_curve,
    predict_grid,
    probability_curve,
    read_checkpoint_scores,
)
from codbayes.errors import InputError
from codbayes.methods.base import Predictor, as_flops
from codbayes.prediction import Prediction


class CurvePredictor(Predictor):
    """Draw ``d`` is the curve ``lo + (1 - lo) sigmoid(k_d (log10 C - m_d))``: exact crossings.

    Benchmark ``"A"`` has ``lo = 0``, ``"B"`` ``lo = 0.25`` and its midpoint one dex later.
    """

    name = "curves"

    def __init__(self, n_draws: int = 400, seed: int = 0) -> None:
        self.n_draws = n_draws
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.k_ = rng.uniform(1.0, 3.0, n_draws)
        self.m_ = rng.normal(23.0, 0.4, n_draws)

    def fit(self, ladder=None):
        return self

    def score(self, bench: str, log_c: np.ndarray) -> np.ndarray:
        lo, shift = (0.0, 0.0) if bench == "A" else (0.25, 1.0)
        return lo + (1 - lo) * expit(self.k_ * (np.asarray(log_c)[..., None] - self.m_ - shift))

    def crossing(self, bench: str, x: float) -> np.ndarray:
        """Exact ``log10 C`` at which each draw reaches ``x``."""
        lo, shift = (0.0, 0.0) if bench == "A" else (0.25, 1.0)
        return self.m_ + shift + logit((x - lo) / (1 - lo)) / self.k_

    def predict(self, target_flops) -> Prediction:
        flops = as_flops(target_flops)
        draws = np.stack([self.score(b, np.log10(flops)) for b in ("A", "B")])
        return Prediction("curves", flops, ["A", "B"], draws)


@pytest.fixture(scope="module")
def curves():
    return CurvePredictor()


GRID = np.geomspace(1e21, 1e26, 101)


# ------------------------------------------------------------------ planning
@pytest.mark.parametrize(
    ("bench", "x", "prob"), [("A", 0.8, 0.9), ("B", 0.6, 0.5), ("A", 0.5, 0.1)]
)
def test_plan_matches_brute_force_over_the_grid(curves, bench, x, prob):
    plan = plan_compute(curves, bench, x, prob, grid=GRID)
    draws = curves.predict(GRID).draws[["A", "B"].index(bench)]
    p = (draws >= x).mean(axis=1)
    i = int(np.flatnonzero(p >= prob)[0])  # brute force: first grid compute with P >= prob
    assert plan.status == "reached"
    assert plan.grid_flops == GRID[i]
    assert GRID[i - 1] < plan.flops <= GRID[i]
    np.testing.assert_allclose(plan.probability, p)
    # monotone curves: the prob-quantile of the exact per-draw crossing is the answer
    exact = np.quantile(curves.crossing(bench, x), prob, method="inverted_cdf")
    step = np.log10(GRID[1] / GRID[0])
    assert abs(np.log10(plan.flops) - exact) < step
    np.testing.assert_allclose(np.log10(plan.crossing), curves.crossing(bench, x), atol=step / 10)
    assert abs(np.log10(plan.crossing_median) - np.median(curves.crossing(bench, x))) < step


def test_plan_uncertainty_is_reported(curves):
    plan = plan_compute(curves, "A", 0.8, 0.9, grid=GRID)
    exact = curves.crossing("A", 0.8)
    assert plan.crossing_q05 < plan.crossing_median < plan.crossing_q95
    assert abs(np.log10(plan.crossing_q95) - np.quantile(exact, 0.95)) < 0.06
    # bootstrap SE of the 90 % quantile of 400 draws: small but not zero
    assert 0.005 < plan.se_log10 < 0.2
    assert "FLOPs" in plan.summary() and plan.to_dict()["status"] == "reached"


def test_plan_not_reached_within_range(curves):
    plan = plan_compute(curves, "B", 0.999, 0.9, flops_range=(1e21, 1e23), grid=21)
    assert plan.status == "not reached" and not plan.reached
    assert np.isinf(plan.flops) and np.isinf(plan.grid_flops)
    assert plan.prob_at_max < 0.9
    assert "not reached within 1e+21-1e+23 FLOPs" in plan.summary()
    assert plan.to_dict()["flops"] is None


def test_plan_at_lower_bound(curves):
    plan = plan_compute(curves, "A", 0.01, 0.5, flops_range=(1e23, 1e25), grid=11)
    assert plan.status == "at lower bound"
    assert plan.flops == pytest.approx(1e23)
    assert "already reached" in plan.summary()


def test_plan_point_method_uses_its_curve():
    one = CurvePredictor(n_draws=1, seed=4)
    plan = plan_compute(one, "A", 0.7, 0.9, grid=GRID)
    assert abs(np.log10(plan.flops) - one.crossing("A", 0.7)[0]) < 0.01
    assert np.isnan(plan.se_log10)


def test_plan_default_range_from_ladder(curves, sim):
    grid = flops_grid(OraclePredictor(sim), n=5)
    assert grid[0] == pytest.approx(4e19) and grid[-1] == pytest.approx(1.4e26)
    with pytest.raises(InputError, match="give flops_range"):
        flops_grid(curves)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"benchmark": "C", "score": 0.5, "prob": 0.9}, "unknown benchmark 'C'"),
        ({"benchmark": "A", "score": 80, "prob": 0.9}, "fraction in \\[0, 1\\], got 80"),
        ({"benchmark": "A", "score": 0.5, "prob": 0.0}, "fraction in \\(0, 1\\]"),
    ],
)
def test_plan_bad_input_is_an_input_error(curves, kwargs, match):
    with pytest.raises(InputError, match=match):
        plan_compute(curves, grid=GRID, **kwargs)


def test_plan_bad_range(curves):
    with pytest.raises(InputError, match="two increasing positive numbers"):
        plan_compute(curves, "A", 0.5, 0.9, flops_range=(1e24, 1e22))


def test_predict_grid_common_random_numbers():
    class Noisy(CurvePredictor):
        def predict(self, target_flops):
            pred = super().predict(target_flops)
            rng = np.random.default_rng(7)  # re-seeded per call, like CODBayes
            noise = rng.normal(0, 0.05, pred.draws.shape[::2])[:, None, :]
            return Prediction("noisy", pred.target_flops, pred.benchmarks, pred.draws + noise)

    noisy = Noisy(n_draws=50)
    crn = predict_grid(noisy, GRID[:5]).draws
    joint = predict_grid(noisy, GRID[:5], common_random_numbers=False).draws
    clean = CurvePredictor(n_draws=50).predict(GRID[:5]).draws
    # with common random numbers every compute gets the same noise draw
    np.testing.assert_allclose(np.diff(crn - clean, axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(joint, crn)  # (this fake re-seeds per call anyway)


# ------------------------------------------------------------------ probability curves
def test_probability_curve_brute_force(curves):
    grid = GRID[::10]
    frame = probability_curve(curves, grid, thresholds={"A": [0.5, 0.9], "B": 0.6})
    assert len(frame) == 3 * grid.size
    draws = curves.predict(grid).draws
    got = frame.query("benchmark == 'A' and threshold == 0.9")["prob"].to_numpy()
    np.testing.assert_allclose(got, (draws[0] >= 0.9).mean(axis=1))
    assert np.all(np.diff(got) >= 0)  # monotone curves: probability grows with compute
    fig = plot_probability_curve(
        frame, prob=0.9, plans=[plan_compute(curves, "A", 0.9, 0.9, grid=GRID)]
    )
    assert isinstance(fig, Figure) and len(fig.axes) == 2


def test_probability_curve_from_prediction(curves):
    pred = curves.predict(GRID[::20])
    frame = probability_curve(pred, thresholds=[0.3])
    assert set(frame["benchmark"]) == {"A", "B"} and len(frame) == 2 * pred.target_flops.size
    with pytest.raises(InputError, match="unknown benchmark"):
        probability_curve(pred, thresholds={"Z": [0.3]})


def test_plan_from_prediction_needs_an_ascending_grid(curves):
    with pytest.raises(InputError, match="ascending"):
        plan_from_prediction(curves.predict([1e24, 1e23]), "A", 0.5, 0.9)


# ------------------------------------------------------------------ monitoring
class OraclePredictor(Predictor):
    """Predictive draws of a fresh simulator model: true score at a drawn compute offset."""

    name = "oracle"

    def __init__(self, sim, n_draws: int = 400, seed: int = 0) -> None:
        self.sim = sim
        self.n_draws = n_draws
        self.seed = seed
        self.ladder_ = sim.ladder

    def fit(self, ladder=None):
        return self

    def predict(self, target_flops) -> Prediction:
        flops = as_flops(target_flops)
        c = self.sim.config
        rng = np.random.default_rng(self.seed)
        offsets = rng.normal(0, np.hypot(c.sigma_rung, c.sigma_benchmark), self.n_draws)
        grid = np.linspace(-0.5, 0.5, 41)
        draws = []
        for bench in self.sim.benchmark_names:
            curve = self.sim.true_score(bench, flops[:, None], grid[None, :])
            n = c.benchmark(bench).n_items * c.samples_per_item
            mean = np.stack([np.interp(offsets, grid, row) for row in curve])
            noise = rng.normal(0, 1, mean.shape) * np.sqrt(mean * (1 - mean) / n)
            draws.append(np.clip(mean + noise, 0, 1))
        return Prediction("oracle", flops, self.sim.benchmark_names, np.stack(draws))


@pytest.fixture(scope="module")
def sim():
    return simulate_ladder(small_config(), seed=0)


CHECKPOINT_FLOPS = (3e23, 1e24, 3e24)


def simulated_run(sim, offset: float, run: str, seed: int = 50) -> pd.DataFrame:
    rows = []
    for k, flops in enumerate(CHECKPOINT_FLOPS):
        model = sim.sample_model(flops, seed=seed + k, offset=offset)
        for bench, score in model.scores.items():
            rows.append(
                {"run": run, "checkpoint": f"{run}-{k}", "flops": flops, "benchmark": bench,
                 "score": score}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_monitor_flags_a_run_that_falls_behind(sim):
    oracle = OraclePredictor(sim)
    runs = pd.concat([simulated_run(sim, 0.0, "on-track"), simulated_run(sim, -0.5, "behind")])
    table = monitor(oracle, runs, prob=0.9)
    assert len(table) == 2 * len(CHECKPOINT_FLOPS) * 2
    behind = table[table["run"] == "behind"]
    on_track = table[table["run"] == "on-track"]
    assert (behind["status"] == "below").all()
    assert (behind["percentile"] < 0.05).all()
    assert (on_track["status"] == "inside").all()
    assert on_track["percentile"].between(0.05, 0.95).all()
    # the band is the draws' own 90 % interval
    pred = oracle.predict([CHECKPOINT_FLOPS[0]])
    lo, hi = np.quantile(pred.draws[0, 0], [0.05, 0.95])
    first = table[(table["flops"] == CHECKPOINT_FLOPS[0]) & (table["benchmark"] == "easy")]
    np.testing.assert_allclose(first[["lower", "upper"]].to_numpy()[0], [lo, hi])
    fig = plot_monitor(oracle, table)
    assert isinstance(fig, Figure) and len(fig.axes) == 2


def test_monitor_item_level_checkpoints(sim, tmp_path):
    model = sim.sample_model(1e24, seed=9, offset=0.0)
    rows = []
    for bench, res in model.ladder.benchmarks.items():
        col = res.scores.iloc[:, 0]
        rows += [("ck-1", 1e24, bench, item, s) for item, s in col.items()]
    path = tmp_path / "ck.csv"
    pd.DataFrame(rows, columns=["checkpoint", "flops", "benchmark", "item", "score"]).to_csv(
        path, index=False
    )
    table = read_checkpoint_scores(path)
    assert table["n_items"].tolist() == [300, 300]
    np.testing.assert_allclose(table.set_index("benchmark")["score"], model.scores.sort_index())
    out = monitor(OraclePredictor(sim), path)
    assert (out["status"] == "inside").all()
    frame = pd.read_csv(path)
    with pytest.warns(UserWarning, match="cover 299 of 300 items"):
        monitor(OraclePredictor(sim, n_draws=20), frame.drop(index=0))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda f: f.drop(columns="flops"), "missing column 'flops'"),
        (lambda f: f.assign(score=[0.5, 1.5]), "row 3.*score must be a fraction"),
        (lambda f: f.assign(flops=["1e24", "lots"]), "column 'flops', row 3: not a number"),
        (lambda f: f.assign(flops=[1e24, -1.0]), "must be positive"),
        (
            lambda f: f.assign(checkpoint="a", flops=1e24, benchmark="easy"),
            "duplicate row \\(a, easy\\): already on row 2",
        ),
        (lambda f: f.assign(checkpoint=["a", "a"], flops=[1e24, 2e24]), "flops differ"),
        (lambda f: f.assign(extra=1), "unexpected column 'extra'"),
    ],
)
def test_checkpoint_reader_errors_are_one_line(tmp_path, edit, match):
    frame = pd.DataFrame(
        {"checkpoint": ["a", "b"], "flops": [1e24, 2e24], "benchmark": ["easy", "hard"],
         "score": [0.5, 0.4]}
    )  # fmt: skip
    path = tmp_path / "ck.csv"
    edit(frame).to_csv(path, index=False)
    with pytest.raises(InputError, match=match) as err:
        read_checkpoint_scores(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_monitor_unknown_benchmark(sim):
    frame = pd.DataFrame(
        {"checkpoint": ["a"], "flops": [1e24], "benchmark": ["nope"], "score": [0.5]}
    )
    with pytest.raises(InputError, match="unknown benchmark\\(s\\) nope"):
        monitor(OraclePredictor(sim, n_draws=20), frame)
