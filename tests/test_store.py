"""Saved fits: exact round trips, config preserved, clear one-line errors on foreign files."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from codbayes.data.simulate import simulate_ladder, small_config
from codbayes.errors import InputError
from codbayes.methods import REGISTRY, get_method
from codbayes.methods.base import Predictor
from codbayes.prediction import Prediction
from codbayes.store import (
    SCHEMA_VERSION,
    clustered_from_dataset,
    clustered_to_dataset,
    data_hash,
    fit_info,
    load_fit,
    read_fit_tree,
    save_fit,
    table_from_dataset,
    table_to_dataset,
)

TARGETS = [1e23, 1e24, 1e25]


@pytest.fixture(scope="module")
def sim():
    return simulate_ladder(small_config(), seed=0)


@pytest.fixture(scope="module")
def cod_point(sim):
    params = {"thresholds": {"a_min": 1.0, "b_min": 0.1, "c_max": 1.0}, "mapping_tolerance": 0.004}
    return get_method("cod-point", **params).fit(sim.ladder)


@pytest.fixture(scope="module")
def saved_point(cod_point, tmp_path_factory):
    path = tmp_path_factory.mktemp("fits") / "point.nc"
    save_fit(cod_point, path)
    return path


# ------------------------------------------------------------------ round trips
def test_cod_point_round_trip_predicts_the_same(cod_point, saved_point):
    loaded = load_fit(saved_point)
    assert type(loaded) is type(cod_point)
    a, b = cod_point.predict(TARGETS), loaded.predict(TARGETS)
    assert a.benchmarks == b.benchmarks
    np.testing.assert_array_equal(a.draws, b.draws)
    assert loaded.get_params() == {**cod_point.get_params(), "thresholds": cod_point.thresholds}
    assert loaded.mapping_tolerance == 0.004


def test_round_trip_restores_ladder_and_clusters(cod_point, saved_point):
    loaded = load_fit(saved_point)
    pd.testing.assert_frame_equal(loaded.ladder_.models, cod_point.ladder_.models)
    assert loaded.ladder_.name == cod_point.ladder_.name
    for bench, res in cod_point.ladder_.benchmarks.items():
        pd.testing.assert_frame_equal(loaded.ladder_.benchmarks[bench].scores, res.scores)
        pd.testing.assert_frame_equal(loaded.ladder_.benchmarks[bench].samples, res.samples)
        assert loaded.ladder_.guess_rate(bench) == res.guess_rate
    assert data_hash(loaded.ladder_) == data_hash(cod_point.ladder_)
    for bench, cb in cod_point.clustered_.items():
        got = loaded.clustered_[bench]
        pd.testing.assert_frame_equal(got.clusters, cb.clusters)
        np.testing.assert_array_equal(got.labels, cb.labels)
        np.testing.assert_array_equal(got.trials, cb.trials)
        assert list(got.items) == list(cb.items) and got.models == cb.models
        assert got.guess_rate == cb.guess_rate and got.fallback == cb.fallback


def test_fit_info_has_schema_config_and_hash(cod_point, saved_point):
    info = fit_info(saved_point)
    assert info["codbayes_schema_version"] == SCHEMA_VERSION
    assert info["method"] == "cod-point"
    assert info["params"]["mapping_tolerance"] == 0.004
    assert info["params"]["thresholds"] == {"a_min": 1.0, "b_min": 0.1, "c_max": 1.0}
    assert info["data_hash"] == data_hash(cod_point.ladder_)
    assert len(info["data_hash"]) == 64
    assert info["benchmarks"] == ["easy", "hard"]


@pytest.mark.parametrize("method", ["e2e-exp", "e2e-sigmoid", "e2e-passrate"])
def test_end_to_end_round_trip(sim, tmp_path, method):
    fitted = get_method(method).fit(sim.ladder)
    loaded = load_fit(save_fit(fitted, tmp_path / "fit.nc"))
    np.testing.assert_array_equal(fitted.predict(TARGETS).draws, loaded.predict(TARGETS).draws)
    assert loaded.params_ == fitted.params_


def test_file_is_an_arviz_style_tree(saved_point):
    tree = xr.open_datatree(saved_point, engine="h5netcdf")
    try:
        assert {"fit_data", "clusters", "state"} <= set(tree.children)
        assert {"results", "models", "benchmarks"} <= set(tree["fit_data"].children)
        assert tree.attrs["format"] == "codbayes-fit"
    finally:
        tree.close()


def test_checkpoints_table_round_trips(sim, tmp_path):
    from codbayes.data.ladder import Ladder

    ck = pd.DataFrame(
        {
            "model": sim.ladder.ladder_models[:2],
            "step": [10, 20],
            "tokens": [1e9, 2e9],
            "benchmark": ["easy", "easy"],
            "score": [0.1, 0.2],
            "loss:c4 en/x": [3.1, 2.9],
        }
    )
    ladder = Ladder(sim.ladder.models, sim.ladder.benchmarks, sim.ladder.name, checkpoints=ck)
    fitted = get_method("e2e-exp").fit(ladder)
    loaded = load_fit(save_fit(fitted, tmp_path / "fit.nc"))
    pd.testing.assert_frame_equal(loaded.ladder_.checkpoints, ck, check_dtype=False)


# ------------------------------------------------------------------ codecs
def test_table_codec_is_exact():
    frame = pd.DataFrame(
        {
            "name": ["a", None, "c/d é"],
            "flag": [True, False, True],
            "n": np.array([1, 2, 3], dtype=np.int64),
            "x": [0.1, np.nan, 1e300],
            "weird col/name": ["", "y", "z"],
        },
        index=pd.Index([5, 7, 9], name="label"),
    )
    back = table_from_dataset(table_to_dataset(frame, index=True))
    assert back.index.tolist() == [5, 7, 9] and back.index.name == "label"
    assert back["name"].isna().tolist() == [False, True, False]
    assert back["name"].iloc[2] == "c/d é"
    pd.testing.assert_frame_equal(back, frame)
    assert back["flag"].dtype == bool and back["flag"].tolist() == [True, False, True]
    assert back["n"].tolist() == [1, 2, 3]
    np.testing.assert_array_equal(back["x"].to_numpy(), frame["x"].to_numpy())
    assert back["weird col/name"].tolist() == ["", "y", "z"]


def test_clustered_codec_is_exact(cod_point):
    cb = cod_point.clustered_["hard"]
    back = clustered_from_dataset(clustered_to_dataset(cb))
    pd.testing.assert_frame_equal(back.clusters, cb.clusters)
    for name in ("labels", "compute", "is_ladder", "accuracy", "successes", "trials"):
        np.testing.assert_array_equal(getattr(back, name), getattr(cb, name))
    assert back.compute_unit == cb.compute_unit and back.subset_fraction == cb.subset_fraction


# ------------------------------------------------------------------ errors
def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_incompatible_schema_version_is_an_input_error(saved_point, tmp_path):
    path = tmp_path / "old.nc"
    path.write_bytes(saved_point.read_bytes())
    with h5py.File(path, "r+") as fh:
        fh.attrs["codbayes_schema_version"] = 999
    with pytest.raises(InputError) as err:
        load_fit(path)
    text = _one_line(err)
    assert "schema version 999" in text and str(path) in text


def test_garbage_file_is_an_input_error(tmp_path):
    path = tmp_path / "garbage.nc"
    path.write_bytes(b"this is not a netCDF file\n" * 20)
    with pytest.raises(InputError, match="not a codbayes fit file") as err:
        load_fit(path)
    _one_line(err)


def test_foreign_netcdf_is_an_input_error(tmp_path):
    path = tmp_path / "other.nc"
    xr.Dataset({"x": ("t", [1.0, 2.0])}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(InputError, match="no codbayes_schema_version"):
        read_fit_tree(path)


def test_missing_file_and_folder(tmp_path, cod_point):
    with pytest.raises(InputError, match="file not found"):
        load_fit(tmp_path / "nope.nc")
    with pytest.raises(InputError, match="folder does not exist"):
        save_fit(cod_point, tmp_path / "no" / "fit.nc")


def test_edited_training_data_fail_the_hash(saved_point, tmp_path):
    path = tmp_path / "edited.nc"
    path.write_bytes(saved_point.read_bytes())
    with h5py.File(path, "r+") as fh:
        columns = fh["fit_data/results"].attrs["ccolumns"]
        score = f"c{list(__import__('json').loads(columns)).index('score')}"
        fh[f"fit_data/results/{score}"][0] = 0.123456
    with pytest.raises(InputError, match="data_hash"):
        load_fit(path)


class _Opaque(Predictor):
    name = "opaque-test"

    def __init__(self, k: int = 1) -> None:
        self.k = k

    def fit(self, ladder):
        self.ladder_ = ladder
        self.thing_ = object()
        return self

    def predict(self, target_flops):
        return Prediction.from_points(self.name, target_flops, {"easy": [0.5]})


def test_unsaveable_predictor_says_why_and_leaves_nothing(sim, tmp_path, monkeypatch):
    monkeypatch.setitem(REGISTRY, "opaque-test", f"{__name__}:_Opaque")
    with pytest.raises(InputError, match="attribute 'thing_' of type object"):
        save_fit(_Opaque().fit(sim.ladder), tmp_path / "fit.nc")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="not fitted"):
        save_fit(_Opaque(), tmp_path / "fit.nc")


# ------------------------------------------------------------------ cod-bayes
@pytest.fixture
def mock_pymc_sample():
    from pymc.testing import mock_sample_setup_and_teardown

    yield from mock_sample_setup_and_teardown()


def test_cod_bayes_round_trip_with_mock_sampler(sim, tmp_path, mock_pymc_sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = get_method("cod-bayes", draws=20, chains=1, seed=3, progressbar=False)
        fitted.fit(sim.ladder)
    path = save_fit(fitted, tmp_path / "bayes.nc")
    loaded = load_fit(path)
    np.testing.assert_array_equal(fitted.predict(TARGETS).draws, loaded.predict(TARGETS).draws)
    assert loaded.seed == 3 and loaded.model_ is None
    assert loaded.model_config_ == fitted.model_config_
    assert loaded.sampler_config_ == fitted.sampler_config_
    assert set(loaded.idata_.children) >= {"posterior", "fit_data"}
    xr.testing.assert_identical(
        loaded.idata_["posterior"].to_dataset(), fitted.idata_["posterior"].to_dataset()
    )
    info = fit_info(path)
    assert info["sampler_config"]["draws"] == 20
    assert info["model_config"] == fitted.model_config_
