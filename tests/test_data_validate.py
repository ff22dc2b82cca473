"""Validation of the tidy tables: clean output and one-line errors naming file, column, row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from codbayes.data.ladder import Ladder
from codbayes.data.validate import (
    check_ladder_size,
    row_numbers,
    validate_benchmarks,
    validate_models,
    validate_results,
)
from codbayes.errors import InputError


def error_of(func, *args, **kwargs) -> str:
    """The message of the InputError raised by ``func``; it must be a single line."""
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def where(source: str, column: str | None = None, row: int | None = None) -> str:
    parts = [source]
    if column:
        parts.append(f"column '{column}'")
    if row is not None:
        parts.append(f"row {row}")
    return ", ".join(parts) + ":"


# ----------------------------------------------------------------------------- models: good
def test_models_clean_output_types_order_and_defaults(tidy_tables):
    models = tidy_tables["models"].iloc[::-1].reset_index(drop=True)  # largest first
    out = validate_models(models, source="m.csv")
    assert list(out.columns) == ["params", "tokens", "flops", "role", "family"]
    assert out.index.name == "model"
    assert list(out.index) == ["m-small", "m-medium", "m-large", "m-xl", "m-anchor"]
    assert out["flops"].iloc[0] == pytest.approx(6 * 1e8 * 2e10)
    assert np.isnan(out.loc["m-anchor", "flops"])  # anchor without compute, sorted last
    assert out.loc["m-anchor", "role"] == "anchor"
    assert out.loc["m-anchor", "family"] is None
    assert out["params"].dtype == float and out["flops"].dtype == float
    assert all(isinstance(r, str) for r in out["role"])


def test_models_flops_column_overrides_default_and_fills_blanks():
    df = pd.DataFrame(
        {
            "model": ["a", "b", "c"],
            "params": ["1e9", "2e9", ""],
            "tokens": ["1e12", "1e12", ""],
            "flops": ["", "5e21", "9e22"],
        }
    )
    out = validate_models(df, source="m.csv")
    assert out.loc["a", "flops"] == pytest.approx(6e21)  # blank flops -> 6ND
    assert out.loc["b", "flops"] == pytest.approx(5e21)  # given flops wins
    assert out.loc["c", "flops"] == pytest.approx(9e22)  # flops alone is enough
    assert list(out["role"]) == ["ladder"] * 3  # default role
    assert list(out.index) == ["b", "a", "c"]


def test_models_role_is_case_insensitive_and_blank_means_ladder():
    df = pd.DataFrame(
        {
            "model": list("abcd"),
            "params": [1e9] * 4,
            "tokens": [1e12, 2e12, 3e12, 4e12],
            "role": ["Ladder", " ANCHOR ", None, "ladder"],
        }
    )
    out = validate_models(df, source="m.csv")
    assert dict(out["role"]) == {"a": "ladder", "c": "ladder", "d": "ladder", "b": "anchor"}


# ----------------------------------------------------------------------------- models: errors
def models_df(**overrides):
    data = {
        "model": ["a", "b", "c", "d"],
        "params": ["1e9", "2e9", "4e9", "8e9"],
        "tokens": ["1e12", "1e12", "1e12", "1e12"],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def test_models_missing_column():
    msg = error_of(validate_models, models_df().drop(columns="tokens"), source="m.csv")
    assert msg.startswith(where("m.csv", "tokens"))
    assert "missing column" in msg


def test_models_unexpected_column_is_named():
    msg = error_of(validate_models, models_df(size=["x"] * 4), source="m.csv")
    assert msg.startswith(where("m.csv", "size"))
    assert "unexpected column" in msg


def test_models_no_rows_and_no_columns():
    msg = error_of(validate_models, models_df().iloc[:0], source="m.csv")
    assert msg.startswith("m.csv:") and "no data rows" in msg
    msg = error_of(validate_models, pd.DataFrame(), source="m.csv")
    assert msg.startswith("m.csv:") and "empty" in msg


def test_models_text_in_numeric_column():
    msg = error_of(validate_models, models_df(params=["1e9", "2e9", "4B", "8e9"]), source="m.csv")
    assert msg.startswith(where("m.csv", "params", 4))
    assert "not a number: '4B'" in msg


def test_models_non_positive_and_infinite_numbers():
    msg = error_of(validate_models, models_df(tokens=["1e12", "-1", "1e12", "1e12"]), source="m")
    assert msg.startswith(where("m", "tokens", 3)) and "positive" in msg
    msg = error_of(validate_models, models_df(tokens=["1e12", "1e12", "inf", "1e12"]), source="m")
    assert msg.startswith(where("m", "tokens", 4)) and "finite" in msg


def test_models_blank_model_name():
    msg = error_of(validate_models, models_df(model=["a", " ", "c", "d"]), source="m.csv")
    assert msg.startswith(where("m.csv", "model", 3)) and "blank" in msg


def test_models_duplicate_model():
    msg = error_of(validate_models, models_df(model=["a", "b", "a", "d"]), source="m.csv")
    assert msg.startswith(where("m.csv", "model", 4))
    assert "duplicate model (a): already on row 2" in msg


def test_models_unknown_role():
    df = models_df(role=["ladder", "ladder", "target", "ladder"])
    msg = error_of(validate_models, df, source="m.csv")
    assert msg.startswith(where("m.csv", "role", 4)) and "unknown role 'target'" in msg


def test_models_ladder_model_without_compute():
    msg = error_of(validate_models, models_df(tokens=["1e12", "", "1e12", "1e12"]), source="m")
    assert msg.startswith(where("m", "tokens", 3))
    assert "ladder model 'b' has no training compute" in msg


def test_models_too_few_ladder_models():
    df = models_df(role=["ladder", "anchor", "anchor", "ladder"])
    msg = error_of(validate_models, df, source="m.csv")
    assert msg.startswith(where("m.csv", "role")) and "only 2 ladder model(s) (a, d)" in msg
    assert validate_models(df, source="m.csv", min_ladder_models=2).shape == (4, 5)


def test_models_error_counts_other_offending_rows():
    msg = error_of(validate_models, models_df(params=["x", "y", "1e9", "z"]), source="m")
    assert msg.startswith(where("m", "params", 2)) and "(and 2 more rows)" in msg


def test_row_numbers_follow_integer_index_labels():
    df = pd.DataFrame({"a": [1, 2, 3]}, index=[0, 4, 5])  # e.g. blank lines dropped
    assert list(row_numbers(df)) == [2, 6, 7]
    df.index = ["x", "y", "z"]
    assert list(row_numbers(df)) == [2, 3, 4]


# ----------------------------------------------------------------------------- results
@pytest.fixture
def models(tidy_tables):
    return validate_models(tidy_tables["models"], source="m.csv")


def test_results_clean_output(tidy_tables, models):
    raw = tidy_tables["results"].drop(columns="samples").astype(str)
    out = validate_results(raw, models, source="r.csv", models_source="m.csv")
    assert list(out.columns) == ["benchmark", "item", "model", "score", "samples"]
    assert out["samples"].dtype == np.int64 and (out["samples"] == 1).all()
    assert out["score"].dtype == float and out["score"].between(0, 1).all()
    assert all(isinstance(v, str) for v in out["item"])


def test_results_numeric_items_become_text(models):
    df = pd.DataFrame(
        {"benchmark": ["b", "b"], "item": [0, 1.0], "model": ["m-small"] * 2, "score": [1, 0]}
    )
    out = validate_results(df, models, source="r", models_source="m")
    assert list(out["item"]) == ["0", "1"]


def test_results_tolerates_round_off_outside_unit_interval(models):
    df = pd.DataFrame(
        {"benchmark": "b", "item": ["1", "2"], "model": "m-small", "score": [1 + 1e-12, -1e-12]}
    )
    out = validate_results(df, models, source="r", models_source="m")
    assert list(out["score"]) == [1.0, 0.0]


def results_df(**overrides):
    data = {
        "benchmark": ["b", "b", "b", "b"],
        "item": ["1", "2", "3", "4"],
        "model": ["m-small", "m-small", "m-large", "m-large"],
        "score": ["0", "0.5", "1", "0.25"],
        "samples": ["1", "2", "2", "4"],
    }
    data.update(overrides)
    return pd.DataFrame(data)


@pytest.mark.parametrize(
    ("overrides", "column", "row", "text"),
    [
        ({"score": ["0", "1.5", "1", "0"]}, "score", 3, "outside [0, 1]"),
        ({"score": ["0", "0", "-0.1", "0"]}, "score", 4, "outside [0, 1]"),
        ({"score": ["0", "0", "1", "high"]}, "score", 5, "not a number: 'high'"),
        ({"score": ["0", None, "1", "0"]}, "score", 3, "blank cell"),
        ({"samples": ["1", "0", "2", "2"]}, "samples", 3, "whole number >= 1, got 0"),
        ({"samples": ["1", "1", "2.5", "2"]}, "samples", 4, "whole number >= 1, got 2.5"),
        ({"samples": ["1", "1", "", "2"]}, "samples", 4, "blank cell"),
        ({"model": ["m-small", "m-tiny", "m-large", "m"]}, "model", 3, "unknown model 'm-tiny'"),
        ({"item": ["1", "2", "3", "3"]}, "item", 5, "already on row 4"),
        ({"item": ["1", "", "3", "4"]}, "item", 3, "blank cell"),
        ({"benchmark": ["b", "b", float("nan"), "b"]}, "benchmark", 4, "blank cell"),
    ],
)
def test_results_errors_name_file_column_row(models, overrides, column, row, text):
    msg = error_of(
        validate_results, results_df(**overrides), models, source="r.csv", models_source="m.csv"
    )
    assert msg.startswith(where("r.csv", column, row)), msg
    assert text in msg


def test_results_unknown_model_names_the_models_file(models):
    df = results_df(model=["m-small", "nope", "m-large", "m-large"])
    msg = error_of(validate_results, df, models, source="r.csv", models_source="m.csv")
    assert "not in the models table m.csv" in msg


def test_results_duplicate_is_per_benchmark(models):
    df = results_df(
        benchmark=["a", "b", "b", "b"], item=["1", "1", "2", "3"], model=["m-small"] * 4
    )
    assert len(validate_results(df, models, source="r", models_source="m")) == 4


def test_results_missing_and_extra_columns(models):
    msg = error_of(
        validate_results,
        results_df().drop(columns="score"),
        models,
        source="r.csv",
        models_source="m",
    )
    assert msg.startswith(where("r.csv", "score")) and "missing column 'score'" in msg
    msg = error_of(
        validate_results,
        results_df(note=["x"] * 4, extra=["y"] * 4),
        models,
        source="r.csv",
        models_source="m",
    )
    assert msg.startswith(where("r.csv", "note")) and "'note', 'extra'" in msg


def test_results_blank_header_column_is_explained(models):
    df = results_df()
    df["Unnamed: 5"] = None
    msg = error_of(validate_results, df, models, source="r.csv", models_source="m")
    assert "blank header, column 6" in msg


def test_results_no_rows(models):
    msg = error_of(validate_results, results_df().iloc[:0], models, source="r", models_source="m")
    assert msg.startswith("r:") and "no data rows" in msg


# ----------------------------------------------------------------------------- benchmarks
def test_benchmarks_guess_rates():
    df = pd.DataFrame({"benchmark": ["a", "b"], "guess_rate": ["0.25", ""]})
    assert validate_benchmarks(df, ["a", "b", "c"], source="b.csv") == {"a": 0.25}


@pytest.mark.parametrize(
    ("rates", "names", "column", "row", "text"),
    [
        (["0.25", "1"], ["a", "b"], "guess_rate", 3, "outside [0, 1)"),
        (["0.25", "x"], ["a", "b"], "guess_rate", 3, "not a number"),
        (["0.25", "0"], ["a", "a"], "benchmark", 3, "duplicate benchmark"),
        (["0.25", "0"], ["a", "zzz"], "benchmark", 3, "'zzz' has no items in the results"),
    ],
)
def test_benchmarks_errors(rates, names, column, row, text):
    df = pd.DataFrame({"benchmark": names, "guess_rate": rates})
    msg = error_of(validate_benchmarks, df, ["a", "b"], source="b.csv")
    assert msg.startswith(where("b.csv", column, row)) and text in msg


# ----------------------------------------------------------------------------- ladder size
def test_check_ladder_size(tidy_tables):
    ladder = Ladder.from_tidy(tidy_tables["results"], tidy_tables["models"])
    check_ladder_size(ladder, source="m.csv")  # 4 ladder models
    fewer = ladder.with_roles({"m-xl": "anchor", "m-large": "anchor"})
    msg = error_of(check_ladder_size, fewer, source="m.csv")
    assert msg.startswith(where("m.csv", "role")) and "only 2 ladder model(s)" in msg


def test_from_tidy_uses_validation(tidy_tables):
    ladder = Ladder.from_tidy(tidy_tables["results"], tidy_tables["models"])
    assert ladder.ladder_models == ["m-small", "m-medium", "m-large", "m-xl"]
    assert ladder.anchor_models == ["m-anchor"]
    assert ladder.samples("bench_b").to_numpy().max() == 10
