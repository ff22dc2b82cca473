"""The cod-bayes predictor: fit / predict plumbing (mock sampler), persistence, one real fit."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from _synth import UNIT, synthetic_benchmark, true_full_score
from pymc.testing import mock_sample_setup_and_teardown

from codbayes.diagnostics import check_convergence, convergence_problems
from codbayes.errors import ConvergenceWarning
from codbayes.methods import get_method
from codbayes.methods.base import NotFittedError
from codbayes.methods.cod_bayes import CODBayes

mock_pymc_sample = pytest.fixture(scope="function")(mock_sample_setup_and_teardown)

TOP = UNIT * 4.0**5
TARGET = TOP * 27


@pytest.fixture(scope="module")
def clustered():
    a, _ = synthetic_benchmark("A", n_clusters=4, seed=1)
    b, _ = synthetic_benchmark("B", n_clusters=3, seed=2, guess_rate=0.25, anchor=True)
    return [a, b]


def _fit(clustered, **kwargs):
    params = {"draws": 20, "chains": 2, "progressbar": False, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return CODBayes(**params).fit_clustered(clustered)


# ------------------------------------------------------------------------------- configuration
def test_registered_and_configs_merge_over_defaults():
    est = get_method("cod-bayes", seed=3, draws=50, chains=2, tune=None)
    assert isinstance(est, CODBayes) and est.seed == 3
    est.set_params(model_config={"mapping": {"kind": "bernstein"}}, sampler_config={"draws": 7})
    model_cfg, sampler_cfg = est._merged_configs()
    assert model_cfg["mapping"]["kind"] == "bernstein"
    assert model_cfg["mapping"]["free_ends"] is True  # nested defaults kept
    assert sampler_cfg["draws"] == 7  # explicit sampler_config wins
    assert sampler_cfg["tune"] == 50  # tune=None -> draws argument
    assert sampler_cfg["chains"] == 2 and sampler_cfg["random_seed"] == 3
    assert sampler_cfg["nuts_sampler"] in ("nutpie", "pymc")
    assert CODBayes.default_model_config() is not CODBayes.default_model_config()
    with pytest.raises(ValueError, match="subset"):
        CODBayes(subset="magic")._merged_configs()


def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError):
        CODBayes().predict(1e24)


# ---------------------------------------------------------------------------- mock-sampled fits
def test_fit_predict_plumbing(mock_pymc_sample, clustered):
    est = _fit(clustered, seed=1)
    assert {"posterior", "fit_data", "observed_data"} <= set(est.idata_.children)
    attrs = est.idata_["fit_data"].attrs
    assert attrs["schema_version"] == 1 and len(attrs["config_hash"]) == 16
    assert json.loads(attrs["model_config"])["likelihood"] == "normal"
    pred = est.predict([TOP, TARGET])
    assert pred.method == "cod-bayes" and pred.benchmarks == ["A", "B"]
    assert pred.draws.shape == (2, 2, 40)  # chains x draws
    assert np.all((pred.draws >= 0) & (pred.draws <= 1))
    assert set(pred.diagnostics) == {"max_rhat", "min_ess_bulk", "divergences"}
    assert pred.info["B"]["n_clusters"] == 3 and pred.seed == 1
    assert est.summary().index.str.startswith("log_b_mu").any()
    table = est.cluster_summary()
    assert len(table) == 7 and set(table["benchmark"]) == {"A", "B"}


def test_predict_is_deterministic_given_seed(mock_pymc_sample, clustered):
    one = _fit(clustered, seed=4)
    first, again = one.predict(TARGET).draws, one.predict(TARGET).draws
    np.testing.assert_array_equal(first, again)
    other = one.set_params(seed=5).predict(TARGET).draws
    assert not np.array_equal(first, other)


def test_save_load_round_trip(mock_pymc_sample, clustered, tmp_path):
    est = _fit(clustered, seed=2)
    path = est.save(tmp_path / "fit.nc")
    back = CODBayes.load(path)
    assert back.seed == 2 and back.model_config_ == est.model_config_
    np.testing.assert_array_equal(back.predict(TARGET).draws, est.predict(TARGET).draws)
    assert back.predict(TARGET).info["A"]["n_clusters"] == 4


def test_posterior_subset_mode(mock_pymc_sample, clustered):
    est = _fit(clustered, subset="posterior", seed=0)
    assert isinstance(est.subset_probability_, pd.Series)
    assert len(est.subset_probability_) == 7
    assert est.fit_data_.in_subset.sum() >= 2  # at least one cluster per benchmark
    assert {"map_z", "log_b", "sigma_map"} <= set(est.idata_["posterior"].data_vars)
    assert est.predict(TARGET).draws.shape[:2] == (2, 1)


def test_benchmark_without_clusters_predicts_top_rung(mock_pymc_sample, clustered):
    empty, _ = synthetic_benchmark("C", n_clusters=2, seed=3)
    empty = type(empty)(
        **{
            **{f: getattr(empty, f) for f in empty.__dataclass_fields__},
            "clusters": empty.clusters.iloc[:0],
            "accuracy": empty.accuracy[:0],
            "successes": empty.successes[:0],
            "trials": empty.trials[:0],
        }
    )
    est = _fit([*clustered, empty])
    pred = est.predict(TARGET)
    assert pred.benchmarks == ["A", "B", "C"]
    np.testing.assert_allclose(pred.scores("C"), empty.full_score[5])


def test_prior_predictive_of_the_fitted_data(mock_pymc_sample, clustered):
    est = _fit(clustered)
    prior = est.sample_prior_predictive(draws=50)
    y = prior.prior_predictive["y"].values
    assert y.shape == (1, 50, 42) and np.all(np.isfinite(y))


def test_fit_on_a_simulated_ladder(mock_pymc_sample):
    from codbayes.data.simulate import simulate_ladder, small_config

    sim = simulate_ladder(small_config(), seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = CODBayes(draws=10, chains=1, progressbar=False).fit(sim.ladder)
    assert est.ladder_ is sim.ladder
    pred = est.predict(sim.target_flops)
    assert pred.benchmarks == ["easy", "hard"]
    assert pred.info["easy"]["n_items"] == 300


# --------------------------------------------------------------------------------- diagnostics
def test_convergence_warning_thresholds():
    good = {"max_rhat": 1.005, "min_ess_bulk": 800.0, "divergences": 0.0}
    assert convergence_problems(good) == []
    bad = {"max_rhat": 1.05, "min_ess_bulk": 120.0, "divergences": 3.0}
    assert len(convergence_problems(bad)) == 3
    assert convergence_problems(bad, {"rhat_max": 1.1, "ess_min": 100, "max_divergences": 5}) == []
    with pytest.warns(ConvergenceWarning, match="R-hat 1.050"):
        assert not check_convergence(bad)
    nan = {"max_rhat": float("nan"), "min_ess_bulk": float("nan"), "divergences": float("nan")}
    assert check_convergence(nan)


# ----------------------------------------------------------------------------------- real fit
@pytest.mark.slow
def test_real_fit_recovers_parameters_and_covers_held_out_score():
    truths, clustered = [], []
    for name, seed, guess in (("A", 11, None), ("B", 12, 0.25)):
        cb, truth = synthetic_benchmark(
            name, n_clusters=4, n_rungs=6, seed=seed, guess_rate=guess, anchor=True, size=80
        )
        clustered.append(cb)
        truths.append(truth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = CODBayes(draws=300, tune=300, chains=2, seed=0, progressbar=False)
        est.fit_clustered(clustered)
    assert est.diagnostics_["max_rhat"] < 1.05
    pred = est.predict(TARGET)
    lo, hi = pred.interval(0.9).to_numpy().T
    for k, (cb, truth) in enumerate(zip(clustered, truths, strict=True)):
        true = true_full_score(cb, truth, TARGET, 0.7)
        assert lo[k] <= true <= hi[k], (cb.benchmark, lo[k], true, hi[k])
        assert hi[k] - lo[k] < 0.25  # informative, not just [0, 1]
    # growth exponents: posterior medians within 30 % of the truth for most clusters
    table = est.cluster_summary()
    b_true = np.concatenate([t["b"].to_numpy() for t in truths])
    assert np.mean(np.abs(table["b"].to_numpy() / b_true - 1) < 0.3) >= 0.75


@pytest.mark.slow
def test_real_posterior_subset_fit_drops_the_flat_cluster():
    # three growing clusters and one flat, low-ceiling one (a < 1, b < 0.1, c > 1): the posterior
    # probability of passing the paper's filter separates them and the subset leaves the flat out
    good = [[0.0, np.exp(1.5), 0.4, 0.1], [0.0, np.exp(1.0), 0.3, 0.05], [0.0, 4.0, 0.5, 0.15]]
    flat = [0.0, 0.3, 0.03, 1.2]
    cb, _ = synthetic_benchmark("A", seed=21, size=80, anchor=True, params=np.array([*good, flat]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = CODBayes(draws=300, tune=300, chains=2, seed=0, subset="posterior", progressbar=False)
        est.fit_clustered([cb])
    prob = est.subset_probability_.to_numpy()
    assert np.all(prob[:3] > 0.8) and prob[3] < 0.2, prob
    np.testing.assert_array_equal(est.fit_data_.in_subset, [True, True, True, False])
    draws = est.predict(TARGET).scores("A")
    assert np.all((draws >= 0) & (draws <= 1)) and np.ptp(draws) > 0.01
    # the first stage recovered the laws, the flat cluster's included (R-hat is not asserted: at
    # 2 x 300 draws the flat cluster's ceiling-growth ridge leaves it near 1.06)
    post = est.idata_["posterior"]
    b, c = (np.median(post[v].values.reshape(-1, 4), axis=0) for v in ("b", "c"))
    np.testing.assert_allclose(b[:3], [0.4, 0.3, 0.5], rtol=0.3)
    assert b[3] < 0.1 and abs(c[3] - 1.2) < 0.2


@pytest.mark.slow
def test_draws_do_not_depend_on_how_the_model_was_compiled(clustered):
    # numba's fastmath made cached and freshly compiled log densities differ in the last bits,
    # and NUTS turned that into other draws for the same seed; codbayes samples without it
    import pytensor

    def draws():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = CODBayes(draws=60, tune=60, chains=1, seed=4, progressbar=False)
            return est.fit_clustered(clustered).idata_["posterior"]["log_b"].values

    cached = draws()
    with pytensor.config.change_flags(numba__cache=False):
        fresh = draws()
    np.testing.assert_array_equal(cached, fresh)
