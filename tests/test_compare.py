"""LOO comparison of Bayesian variants, on tiny conjugate PyMC models (exact posterior draws)."""

import numpy as np
import pymc as pm
import pytest
import xarray as xr
from test_evaluate import make_ladder

from codbayes.compare import compare_fitted, compare_variants, fit_variants
from codbayes.methods.base import Predictor


class TinyBayes(Predictor):
    """Normal model of the ladder's scores, ``y ~ N(mu, sigma)``, with exact posterior draws.

    A second observed variable ``z`` makes the choice of the LOO variable matter.
    """

    name = "tiny-bayes"
    loo_var = "y"

    def __init__(self, model_config=None, draws=1000, seed=0, shift=0.0):
        self.model_config = model_config
        self.draws = draws
        self.seed = seed
        self.shift = shift

    def fit(self, ladder):
        cfg = {"sigma": 1.0, "prior_sd": 1.0, **(self.model_config or {})}
        y = ladder.scores().loc[ladder.ladder_models].to_numpy().ravel() + self.shift
        sigma, prior_sd = cfg["sigma"], cfg["prior_sd"]
        with pm.Model() as model:
            mu = pm.Normal("mu", 0.0, prior_sd)
            pm.Normal("y", mu, sigma, observed=y)
            pm.Normal("z", mu, 1.0, observed=np.zeros(3))
        prec = 1 / prior_sd**2 + y.size / sigma**2 + 3.0
        mean = (y.sum() / sigma**2) / prec
        rng = np.random.default_rng(self.seed)
        mu_draws = rng.normal(mean, prec**-0.5, size=(2, self.draws))
        posterior = xr.Dataset(
            {"mu": (("chain", "draw"), mu_draws)},
            coords={"chain": [0, 1], "draw": np.arange(self.draws)},
        )
        observed = xr.Dataset({"y": ("y_dim_0", y), "z": ("z_dim_0", np.zeros(3))})
        self.idata_ = xr.DataTree.from_dict({"posterior": posterior, "observed_data": observed})
        self.model_ = model
        self.ladder_ = ladder
        return self

    def predict(self, target_flops):
        raise NotImplementedError


@pytest.fixture(scope="module")
def ladder():
    return make_ladder(n_rungs=5, n_items=40)


@pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto")
def test_compare_variants_ranks_the_right_noise_scale(ladder):
    y = ladder.scores().loc[ladder.ladder_models].to_numpy().ravel()
    good = float(y.std())
    table = compare_variants(
        ladder,
        {"right": {"sigma": good}, "too-wide": {"sigma": 10 * good},
         "too-narrow": {"model_config": {"sigma": good / 10}}},
        method=TinyBayes,
        draws=800,
    )  # fmt: skip
    assert table.index[0] == "right"
    assert list(table["rank"]) == [0, 1, 2]
    assert table.loc["right", "weight"] > 0.8
    assert table.attrs["var_name"] == "y"
    # elpd of the right model is close to the exact log predictive density of a normal model
    n = y.size
    exact_lpd = -0.5 * n * np.log(2 * np.pi * good**2) - 0.5 * np.sum((y - y.mean()) ** 2) / good**2
    assert table.loc["right", "elpd"] == pytest.approx(exact_lpd, abs=3.0)
    assert table.loc["too-narrow", "elpd"] < table.loc["too-wide", "elpd"] < exact_lpd


def test_fit_variants_merges_shared_and_variant_config(ladder):
    fits = fit_variants(
        ladder, {"a": {"sigma": 0.5}, "b": {"seed": 7}}, method=TinyBayes,
        model_config={"prior_sd": 2.0}, draws=50,
    )  # fmt: skip
    assert fits["a"].model_config == {"prior_sd": 2.0, "sigma": 0.5}
    assert fits["b"].model_config == {"prior_sd": 2.0} and fits["b"].seed == 7
    assert fits["a"].draws == fits["b"].draws == 50
    assert "log_likelihood" not in fits["a"].idata_.children  # comparing does not modify idata_


def test_compare_on_another_variable_and_different_data(ladder):
    fits = fit_variants(ladder, {"a": {}, "b": {"sigma": 0.3}}, method=TinyBayes, draws=200)
    on_z = compare_fitted(fits, var_name="z")
    assert on_z.attrs["var_name"] == "z" and set(on_z.index) == {"a", "b"}
    shifted = fit_variants(ladder, {"c": {"shift": 0.1}}, method=TinyBayes, draws=200)
    with pytest.raises(ValueError, match="different observations"):
        compare_fitted({"a": fits["a"], "c": shifted["c"]})
    with pytest.raises(ValueError, match="at least two"):
        compare_fitted({"a": fits["a"]})


def test_unknown_variant_parameter_raises(ladder):
    class NoConfig(TinyBayes):
        def __init__(self, draws=10, seed=0):
            self.draws, self.seed = draws, seed

    with pytest.raises(ValueError, match="takes no parameter"):
        fit_variants(ladder, {"a": {"pooled": False}}, method=NoConfig)


def test_default_variable_falls_back_to_the_law_likelihood(ladder):
    class NoLooVar(TinyBayes):
        loo_var = None

    fits = fit_variants(ladder, {"a": {}, "b": {"sigma": 0.3}}, method=NoLooVar, draws=100)
    assert compare_fitted(fits).attrs["var_name"] == "y"  # "y" and "z" observed: law wins
