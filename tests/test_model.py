"""The hierarchical model: mapping formulas, data preparation, graph structure, prediction."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
from _synth import synthetic_benchmark

from codbayes.mapping_bayes import (
    full_from_subset,
    mapping_rest,
    n_mapping_params,
    rest_scores,
    weights_from_logits,
)
from codbayes.model import (
    DEFAULT_MODEL_CONFIG,
    LAW_VARS,
    MAP_VARS,
    FitData,
    build_model,
    cluster_variance,
    concentration,
    extrapolatable_probability,
    flatten_draws,
    merge_config,
    predict_draws,
    prepare_data,
    rung_offset_basis,
)

KINDS = ("power", "kumaraswamy", "bernstein")


@pytest.fixture(scope="module")
def clustered():
    a, _ = synthetic_benchmark("A", n_clusters=4, seed=1)
    b, _ = synthetic_benchmark("B", n_clusters=3, seed=2, guess_rate=0.25, anchor=True)
    return [a, b]


@pytest.fixture(scope="module")
def data(clustered):
    return prepare_data(clustered)


# ------------------------------------------------------------------------------------ mapping
@pytest.mark.parametrize("kind", KINDS)
def test_fixed_end_mapping_is_monotone_from_zero_to_one(kind):
    rng = np.random.default_rng(0)
    s = np.linspace(0, 1, 101)
    for _ in range(20):
        z = rng.normal(0, 2, n_mapping_params(kind, 5, free_ends=False))
        r = mapping_rest(s, z, kind=kind, free_ends=False)
        assert np.all(np.diff(r) >= -1e-12)
        assert r[0] == pytest.approx(0.0, abs=1e-6)
        assert r[-1] == pytest.approx(1.0, abs=1e-6)
        f = full_from_subset(s, weights_from_logits(rng.normal(0, 2, 4)), 0.3)
        assert f[0] == pytest.approx(0.0) and f[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_free_end_mapping_stays_monotone_in_unit_interval(kind):
    rng = np.random.default_rng(1)
    s = np.linspace(0, 1, 101)
    z = rng.normal(0, 2, (30, n_mapping_params(kind, 5, free_ends=True)))
    r = mapping_rest(s[None, :], z[:, None, :], kind=kind, free_ends=True)
    assert r.shape == (30, 101)
    assert np.all(np.diff(r, axis=1) >= -1e-12)
    assert np.all((r >= 0) & (r <= 1))
    # r(0) is the logistic of the first parameter
    np.testing.assert_allclose(r[:, 0], 1 / (1 + np.exp(-z[:, 0])), atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_mapping_numpy_and_pytensor_agree(kind):
    rng = np.random.default_rng(2)
    s = rng.uniform(0, 1, 7)
    z = rng.normal(0, 1, (7, n_mapping_params(kind, 4, free_ends=True)))
    expected = mapping_rest(s, z, kind=kind, degree=4)
    got = mapping_rest(
        pt.as_tensor_variable(s), pt.as_tensor_variable(z), kind=kind, degree=4, module=pt
    ).eval()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_identity_logits_give_identity_bernstein_and_rest_scores_invert_mixture():
    s = np.linspace(0, 1, 11)
    np.testing.assert_allclose(mapping_rest(s, np.zeros(4), kind="bernstein", free_ends=False), s)
    full = 0.6 * s + 0.4 * s**2
    np.testing.assert_allclose(rest_scores(full, s, 0.6), s**2)
    assert np.isnan(rest_scores(0.5, 0.5, 1.0))


def test_noise_formulas_agree_and_scale_with_cluster_size():
    mu = np.array([0.01, 0.5, 0.9])
    small = cluster_variance(mu, 10 * 100.0, 0.0)
    large = cluster_variance(mu, 1000 * 100.0, 0.0)
    np.testing.assert_allclose(small / large, 100.0)
    # the misfit floor does not vanish in the tails
    assert cluster_variance(0.001, 1e9, 0.02) == pytest.approx(0.02**2, rel=1e-3)
    got = cluster_variance(pt.as_tensor_variable(mu), 500.0, 0.01, 1000.0).eval()
    np.testing.assert_allclose(got, cluster_variance(mu, 500.0, 0.01, 1000.0))
    kappa = concentration(mu, 500.0, 0.01)
    np.testing.assert_allclose(mu * (1 - mu) / kappa, cluster_variance(mu, 500.0, 0.01))


# --------------------------------------------------------------------------------------- data
def test_prepare_data_shapes_and_mapping_pairs(clustered, data):
    assert data.benchmarks == ["A", "B"]
    assert data.n_clusters == 7
    assert data.obs_y.size == 7 * 6  # anchors never enter the law part
    assert data.map_full.size == 6 + 7  # ladder pairs of A, ladder + anchor pairs of B
    assert list(data.map_model).count("anchor") == 1
    np.testing.assert_allclose(data.subset_weights().sum(axis=1), 1.0)
    np.testing.assert_allclose(data.phi, [0.7, 0.7], atol=0.01)
    np.testing.assert_allclose(data.map_subset[:6], clustered[0].subset_score)
    np.testing.assert_allclose(np.exp(data.log_x), 4.0 ** np.arange(6))
    # each cluster's reference compute lies within the ladder
    assert np.all((data.z_ref >= 0) & (data.z_ref <= data.log_x[-1]))
    assert np.isnan(data.guess_rate[0]) and data.guess_rate[1] == 0.25


def test_fit_data_round_trips_through_xarray(data):
    back = FitData.from_dataset(data.to_dataset())
    for name in ("log_x", "size", "z_ref", "obs_y", "obs_n", "map_full", "phi", "in_subset"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    assert back.benchmarks == data.benchmarks and back.compute_unit == data.compute_unit
    assert back.info["B"]["n_clusters"] == 3


def test_subset_mask_must_lie_within_law_mask(clustered):
    law = {cb.benchmark: np.array([True, False] + [True] * (cb.n_clusters - 2)) for cb in clustered}
    sub = {cb.benchmark: np.ones(cb.n_clusters, dtype=bool) for cb in clustered}
    with pytest.raises(ValueError, match="subset clusters"):
        prepare_data(clustered, law_masks=law, subset_masks=sub)
    d = prepare_data(clustered, law_masks=law)
    assert d.n_clusters == 5


# -------------------------------------------------------------------------------------- graph
def test_rung_offset_basis_is_orthonormal_and_free_of_trend():
    log_x = np.log(4.0 ** np.arange(6))
    q = rung_offset_basis(log_x)
    assert q.shape == (6, 4)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(q.T @ np.ones(6), 0, atol=1e-12)
    np.testing.assert_allclose(q.T @ log_x, 0, atol=1e-10)
    assert rung_offset_basis(log_x[:2]).shape == (2, 0)


@pytest.mark.parametrize("param", ["centered", "non_centered"])
def test_model_builds_with_finite_logp_in_both_parameterizations(data, param):
    model = build_model(data, {"parameterization": param})
    logp = model.point_logps()
    assert all(np.isfinite(v) for v in logp.values())
    names = {rv.name for rv in model.free_RVs}
    assert ("log_b" in names) == (param == "centered")
    assert ("log_b_z" in names) == (param == "non_centered")
    assert model["y"].eval().shape == (42,)
    assert {"a", "b", "c", "g", "kappa_items", "map_z"} <= set(model.named_vars)


@pytest.mark.parametrize(
    ("clusters_per_bench", "n_bench", "absent", "present"),
    [
        ((1,), 1, {"log_b_mu", "log_b_bench", "log_b_between", "log_b_sd", "map_z_mu"}, set()),
        ((3,), 1, {"log_b_mu", "log_b_between", "map_z_between"}, {"log_b_bench", "log_b_sd"}),
        ((1, 1), 2, {"log_b_bench", "log_b_sd"}, {"log_b_mu", "log_b_between", "map_z_mu"}),
        ((3, 2), 2, set(), {"log_b_mu", "log_b_between", "log_b_bench", "log_b_sd"}),
    ],
)
def test_single_member_levels_are_collapsed(clusters_per_bench, n_bench, absent, present):
    # a level with one member cannot inform its spread (a funnel for the sampler): no such level
    parts = [
        synthetic_benchmark(f"B{i}", n_clusters=n, seed=10 + i)[0]
        for i, n in enumerate(clusters_per_bench)
    ]
    fit_data = prepare_data(parts)
    assert fit_data.n_bench == n_bench
    model = build_model(fit_data, {"parameterization": "centered"})
    names = set(model.named_vars)
    assert not absent & names
    assert present <= names
    assert all(np.isfinite(v) for v in model.point_logps().values())
    assert model["log_b"].eval().shape == (fit_data.n_clusters,)


@pytest.mark.parametrize(
    ("choice", "n_bench", "fixed"),
    [("auto", 2, True), ("auto", 8, False), (True, 8, True), (False, 2, False)],
)
def test_mapping_spread_is_fixed_with_few_benchmarks(choice, n_bench, fixed):
    # with few benchmarks the cross-benchmark spread of the mapping is not learned (a funnel)
    parts = [synthetic_benchmark(f"B{i}", n_clusters=2, seed=30 + i)[0] for i in range(n_bench)]
    model = build_model(prepare_data(parts), {"mapping": {"fixed_between": choice}})
    names = set(model.named_vars)
    assert "map_z_mu" in names
    assert ("map_z_between" in names) == (not fixed)
    assert model["map_z"].eval().shape == (n_bench, 3)


def test_model_options(data):
    laws_only = build_model(data, mapping=False)
    assert "full" not in laws_only.named_vars and "y" in laws_only.named_vars
    offsets = build_model(data, {"rung_offsets": True, "likelihood": "beta_binomial"})
    assert {"sigma_rung", "rung_eta", "delta_benchmark"} <= set(offsets.named_vars)
    assert offsets["y"].owner.op.name == "beta_binomial"
    with pytest.raises(ValueError, match="parameterization"):
        build_model(data, {"parameterization": "sideways"})
    with pytest.raises(ValueError, match="likelihood"):
        build_model(data, {"likelihood": "poisson"})
    with pytest.raises(ValueError, match="mapping parameterization"):
        build_model(data, {"mapping": {"parameterization": "sideways"}})


def test_guess_levels_follow_the_benchmark(data):
    model = build_model(data)
    g = pm.draw(model["g"], draws=200, random_seed=1)
    k = data.cluster_bench
    # unknown guess rate: small
    assert np.median(g[:, k == 0]) < 0.05 and np.quantile(g[:, k == 0], 0.9) < 0.3
    assert np.median(g[:, k == 1]) == pytest.approx(0.25, abs=0.03)  # known 0.25


def test_merge_config_is_deep_and_leaves_defaults_alone():
    cfg = merge_config(DEFAULT_MODEL_CONFIG, {"mapping": {"kind": "bernstein"}, "misfit": 0.01})
    assert cfg["mapping"]["kind"] == "bernstein" and cfg["mapping"]["free_ends"] is True
    assert cfg["misfit"] == 0.01
    assert DEFAULT_MODEL_CONFIG["mapping"]["kind"] == "power"


# --------------------------------------------------------------------------- prior predictive
def test_prior_predictive_is_plausible(data):
    model = build_model(data, {"likelihood": "beta_binomial"})
    prior = pm.sample_prior_predictive(draws=300, model=model, random_seed=3)
    acc = prior.prior_predictive["y"].values / data.obs_n
    assert np.all((acc >= 0) & (acc <= 1))
    # not degenerate: curves span low and high accuracies and rise with compute on average
    assert np.quantile(acc, 0.1) < 0.2 and np.quantile(acc, 0.9) > 0.6
    top, bottom = data.obs_rung == 5, data.obs_rung == 0
    assert acc[..., top].mean() > acc[..., bottom].mean() + 0.1
    full = prior.prior_predictive["full"].values
    assert 0.0 < np.median(full) < 1.0


# --------------------------------------------------------------------------------- prediction
@pytest.fixture(scope="module")
def prior_draws(data):
    model = build_model(data)
    prior = pm.sample_prior_predictive(draws=400, model=model, random_seed=5)
    return flatten_draws(prior.prior.to_dataset(), LAW_VARS + MAP_VARS)


def test_predict_draws_shape_range_and_determinism(data, prior_draws):
    targets = np.array([1e23, 1e24])
    one = predict_draws(prior_draws, data, targets, np.random.default_rng(0))
    two = predict_draws(prior_draws, data, targets, np.random.default_rng(0))
    assert one.shape == (2, 2, 400)
    assert np.all((one >= 0) & (one <= 1))
    np.testing.assert_array_equal(one, two)
    other = predict_draws(prior_draws, data, targets, np.random.default_rng(1))
    assert not np.allclose(one, other)


def test_predict_noise_widens_and_more_compute_helps(data, prior_draws):
    rng = np.random.default_rng(0)
    mean = predict_draws(prior_draws, data, np.array([1e24]), rng, noise=False)
    noisy = predict_draws(prior_draws, data, np.array([1e24]), rng)
    spread = noisy - mean
    assert np.all(np.abs(spread).mean(axis=2) > 1e-4)
    both = predict_draws(prior_draws, data, np.array([1e20, 1e26]), rng, noise=False)
    assert np.all(both[:, 1] >= both[:, 0] - 1e-12)  # noise-free scores never fall with compute
    assert np.mean(both[:, 1] > both[:, 0] + 0.01) > 0.5


@pytest.mark.parametrize("likelihood", ["normal", "beta_binomial"])
def test_predictive_noise_is_shared_across_targets(data, prior_draws, likelihood):
    # a target's draws do not depend on which other targets are asked for, and draw d is one
    # family member along the compute axis: its scores rise with compute far more often than
    # independent noise would allow
    kw = {"likelihood": likelihood}
    grid = np.array([2e24, 4e24])
    both = predict_draws(prior_draws, data, grid, np.random.default_rng(3), **kw)
    alone = predict_draws(prior_draws, data, grid[:1], np.random.default_rng(3), **kw)
    np.testing.assert_array_equal(both[:, :1], alone)
    rises = np.mean(both[:, 1] >= both[:, 0])
    assert rises > 0.95
    shuffled = np.mean(both[:, 1] >= np.random.default_rng(0).permuted(both[:, 0], axis=1))
    assert shuffled < 0.9


def test_extrapolation_error_widens_only_beyond_the_ladder(data, prior_draws):
    top = data.compute_unit * np.exp(data.log_x[-1])
    targets = np.array([top, top * 27])

    def spread(sd):
        draws = predict_draws(
            prior_draws, data, targets, np.random.default_rng(0), extrapolation_sd=sd
        )
        return draws.std(axis=2)

    base, wide = spread(0.0), spread(0.3)
    np.testing.assert_allclose(wide[:, 0], base[:, 0])  # no extrapolation at the top rung
    assert np.all(wide[:, 1] > base[:, 1])


def test_extrapolatable_probability_counts_draws():
    data_like = type("D", (), {})()
    data_like.bench_unit = np.array([1.0])
    data_like.compute_unit = 1.0
    data_like.cluster_bench = np.array([0, 0])
    post = {
        "a": np.array([[2.0, 0.5], [2.0, 2.0], [0.5, 2.0], [2.0, 2.0]]),
        "b": np.array([[0.5, 0.5], [0.5, 0.05], [0.5, 0.5], [0.5, 0.5]]),
        "c": np.array([[0.1, 0.1], [0.1, 0.1], [0.1, 1.5], [0.1, 0.1]]),
    }
    np.testing.assert_allclose(extrapolatable_probability(post, data_like), [0.75, 0.25])
