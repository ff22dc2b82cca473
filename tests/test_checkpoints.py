"""The checkpoints table: schema, validation, queries and the OLMo / Pythia readers."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from codbayes.data.checkpoints import (
    OLMO_PAPER_TASKS,
    OLMO_TASKS,
    attach_checkpoints,
    checkpoint_losses,
    emerged_mask,
    final_checkpoints,
    has_loss_data,
    read_checkpoints,
    read_olmo_ladder,
    read_pythia,
    require_loss_data,
    resolve_guess_rates,
    validate_checkpoints,
)
from codbayes.data.ladder import Ladder
from codbayes.errors import InputError

SHARED = Path(os.environ.get("CODBAYES_SHARED_DATA", "/work/shared/data"))
OLMO = SHARED / "olmo_ladder"
PYTHIA = SHARED / "pythia" / "pythia_v1_evals_tidy.csv.gz"


def models_table() -> pd.DataFrame:
    """Three ladder models, 20 tokens per parameter."""
    params = np.array([1e8, 4e8, 1.6e9])
    frame = pd.DataFrame(
        {
            "model": ["s", "m", "l"],
            "params": params,
            "tokens": 20 * params,
            "flops": 6 * params * 20 * params,
            "role": "ladder",
            "family": "toy",
        }
    )
    return frame.set_index("model")


def raw_checkpoints() -> pd.DataFrame:
    """Two checkpoints per model, two benchmarks, a task loss and two domain losses."""
    rows = []
    for i, model in enumerate(["l", "m", "s"]):  # deliberately not in compute order
        params = models_table().loc[model, "params"]
        for step, frac in ((10, 0.5), (20, 1.0)):
            for bench, base in (("bench_a", 0.3), ("bench_b", 0.6)):
                rows.append(
                    {
                        "model": model,
                        "step": step,
                        "tokens": frac * 20 * params,
                        "benchmark": bench,
                        "score": base + 0.1 * (2 - i) * frac,
                        "loss": 2.0 - 0.2 * (2 - i) - 0.1 * frac,
                        "loss:web": 3.0 - 0.3 * (2 - i) * frac,
                        "loss:code": 1.5 - 0.1 * (2 - i) * frac,
                        "guess_rate": 0.25 if bench == "bench_a" else 0.5,
                    }
                )
    return pd.DataFrame(rows)


def test_validate_fills_flops_and_sorts_by_compute() -> None:
    table = validate_checkpoints(raw_checkpoints(), models_table())
    assert list(table.columns[:6]) == ["model", "step", "tokens", "flops", "benchmark", "score"]
    assert list(table["model"].unique()) == ["s", "m", "l"]
    assert table["step"].dtype == np.int64
    row = table[(table["model"] == "m") & (table["step"] == 10)].iloc[0]
    per_token = 6 * 4e8  # models.flops / models.tokens
    assert row["flops"] == pytest.approx(per_token * row["tokens"])


@pytest.mark.parametrize(
    ("edit", "column", "row", "text"),
    [
        (lambda f: f.drop(columns="score"), "score", None, "missing column"),
        (lambda f: f.drop(columns=["loss", "loss:web", "loss:code"]), None, None, "no loss column"),
        (lambda f: f.assign(score=f["score"].where(f.index != 3, 1.5)), "score", 5, "[0, 1]"),
        (lambda f: f.assign(loss=f["loss"].where(f.index != 4, -1.0)), "loss", 6, "positive"),
        (lambda f: f.assign(model=f["model"].where(f.index != 2, "zz")), "model", 4, "'zz'"),
        (lambda f: f.assign(step=f["step"].where(f.index != 2, 10)), "step", 4, "repeated"),
        (
            lambda f: f.assign(tokens=f["tokens"].astype(object).where(f.index != 0, "x")),
            "tokens",
            2,
            "not a number",
        ),
        (
            lambda f: f.assign(guess_rate=f["guess_rate"].where(f.index != 5, 0.3)),
            "guess_rate",
            7,
            "differs",
        ),
        (
            lambda f: f.assign(**{c: np.nan for c in ("loss", "loss:web", "loss:code")}),
            "loss",
            2,
            "no loss value",
        ),
    ],
)
def test_validation_errors_name_file_column_row(edit, column, row, text) -> None:
    with pytest.raises(InputError) as info:
        validate_checkpoints(edit(raw_checkpoints()), models_table(), source="ck.csv")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("ck.csv")
    assert text in message
    if column:
        assert f"column '{column}'" in message
    if row:
        assert f"row {row}" in message


def test_read_checkpoints_file_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "ck.csv.gz"
    raw_checkpoints().to_csv(path, index=False)
    table = read_checkpoints(path, models_table())
    assert len(table) == 12
    bad = raw_checkpoints()
    bad.loc[7, "score"] = 2.0
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError, match=r"bad\.csv, column 'score', row 9"):
        read_checkpoints(tmp_path / "bad.csv", models_table())


def test_queries_final_emerged_losses() -> None:
    table = validate_checkpoints(raw_checkpoints(), models_table())
    # pre-training loss = mean of the domains, one row per checkpoint
    pre = checkpoint_losses(table, "pretrain")
    assert len(pre) == 6
    first = table.iloc[0]
    assert pre["loss"].iloc[0] == pytest.approx((first["loss:web"] + first["loss:code"]) / 2)
    assert checkpoint_losses(table, "code")["loss"].iloc[0] == first["loss:code"]
    task = checkpoint_losses(table, "task", "bench_b")
    assert len(task) == 6
    # final checkpoint and the mean of the last two
    fin1 = final_checkpoints(task).set_index("model")
    fin2 = final_checkpoints(task, last_k=2).set_index("model")
    assert fin1.loc["l", "step"] == 20
    assert fin1.loc["l", "loss"] == pytest.approx(1.5)
    assert fin2.loc["l", "loss"] == pytest.approx(1.525)
    # emerged: score >= guess + 0.05 (bench_a guess 0.25, bench_b 0.5)
    guesses = resolve_guess_rates(["bench_a", "bench_b"], checkpoints=table)
    assert guesses == {"bench_a": 0.25, "bench_b": 0.5}
    frame = pd.DataFrame(
        {"benchmark": ["bench_a"] * 3 + ["bench_b"] * 2, "score": [0.29, 0.30, 0.31, 0.549, 0.6]}
    )
    assert emerged_mask(frame, guesses).tolist() == [False, True, True, False, True]
    assert emerged_mask(frame, guesses, None).all()


def test_guess_rate_resolution_order() -> None:
    table = validate_checkpoints(raw_checkpoints(), models_table())
    rates = resolve_guess_rates(
        ["bench_a", "piqa", "other"], checkpoints=table, override={"bench_a": 0.1}
    )
    assert rates == {"bench_a": 0.1, "piqa": 0.5, "other": 0.0}


def test_ladder_attach_select_and_clear_error() -> None:
    bare = Ladder(models=models_table(), benchmarks={}, name="toy")
    assert not has_loss_data(bare)
    with pytest.raises(InputError) as info:
        require_loss_data(bare, "flp")
    assert str(info.value).startswith("method flp needs per-checkpoint loss data (")
    assert "\n" not in str(info.value)
    ladder = attach_checkpoints(bare, raw_checkpoints())
    assert has_loss_data(ladder)
    small = ladder.select(["s", "m"])
    assert set(small.checkpoints["model"]) == {"s", "m"}
    same = dataclasses.replace(ladder, name="copy")
    assert same.checkpoints is ladder.checkpoints


def test_ladder_from_checkpoints_uses_models_validation() -> None:
    pytest.importorskip("codbayes.data.validate")
    from codbayes.data.checkpoints import ladder_from_checkpoints

    models = models_table().reset_index()[["model", "params", "tokens"]]
    ladder = ladder_from_checkpoints(models, raw_checkpoints(), name="toy")
    assert ladder.ladder_models == ["s", "m", "l"]
    assert len(ladder.checkpoints) == 12


# ----------------------------------------------------------------------------- shared data
@pytest.mark.skipif(not (OLMO / "ladder-runs").is_dir(), reason="shared OLMo ladder data absent")
def test_read_olmo_ladder_matches_final_points() -> None:
    ladder = read_olmo_ladder(OLMO)
    assert len(ladder.models) == 18
    assert ladder.ladder_models[-2:] == ["7B-4T", "13B-5T"]
    assert set(ladder.checkpoints["benchmark"]) == set(OLMO_TASKS)
    assert set(OLMO_PAPER_TASKS) < set(OLMO_TASKS)
    final = pd.read_csv(OLMO / "olmo_ladder_final_points.csv").set_index("run")
    # compute of the targets = AI2's C_approx; ladder runs named as in the file
    c = ladder.models["flops"]
    assert c["7B-4T"] == pytest.approx(
        float(final.loc["peteish7_eval_anneal", "C_approx"]), rel=1e-9
    )
    assert c["13B-5T"] == pytest.approx(
        float(final.loc["peteish13_eval_final", "C_approx"]), rel=1e-3
    )
    last = (
        ladder.checkpoints.sort_values("tokens")
        .groupby(["model", "benchmark"])
        .tail(1)
        .set_index(["model", "benchmark"])
    )
    for run in ("190M-1xC", "760M-5xC", "1B-10xC"):
        assert last.loc[(run, "hellaswag"), "score"] == pytest.approx(
            final.loc[run, "hellaswag_val_rc_5shot_len_norm"], abs=1e-9
        )
        assert last.loc[(run, "hellaswag"), "loss"] == pytest.approx(
            final.loc[run, "bpb:hellaswag_val_rc_5shot_bpb"], abs=1e-9
        )
    assert last.loc[("13B-5T", "piqa"), "score"] == pytest.approx(
        final.loc["peteish13_eval_final", "piqa_val_rc_5shot_len_norm"], abs=1e-9
    )
    assert len([c for c in ladder.checkpoints.columns if c.startswith("loss:")]) == 11
    three = read_olmo_ladder(OLMO, sizes=("3B",), multipliers=(1,), tasks=["mmlu"], targets=False)
    assert list(three.models.index) == ["3B-1xC"]
    with pytest.raises(InputError, match="unknown OLMo task"):
        read_olmo_ladder(OLMO, tasks=["nope"])


@pytest.mark.skipif(not PYTHIA.is_file(), reason="shared Pythia data absent")
def test_read_pythia_lambada_loss() -> None:
    ladder = read_pythia(PYTHIA)
    assert ladder.ladder_models[0] == "pythia-70m"
    assert ladder.ladder_models[-1] == "pythia-12b"
    m = ladder.models.loc["pythia-12b"]
    assert m["flops"] == pytest.approx(6 * m["params"] * m["tokens"])
    ck = ladder.checkpoints
    raw = pd.read_csv(PYTHIA)
    ppl = raw[
        (raw["model"] == "pythia-1.4b")
        & (raw["step"] == 143000)
        & (raw["shots"] == "zero-shot")
        & (raw["task"] == "lambada_openai")
        & (raw["metric"] == "ppl")
    ]["value"].iloc[0]
    row = ck[(ck["model"] == "pythia-1.4b") & (ck["step"] == 143000)]
    assert row["loss:lambada"].iloc[0] == pytest.approx(np.log(ppl))
    assert row.set_index("benchmark").loc["lambada_openai", "loss"] == pytest.approx(np.log(ppl))
    assert row.set_index("benchmark")["loss"].drop("lambada_openai").isna().all()
    mmlu = raw[
        (raw["model"] == "pythia-1.4b")
        & (raw["step"] == 143000)
        & (raw["shots"] == "zero-shot")
        & raw["task"].str.startswith("hendrycksTest-")
        & (raw["metric"] == "acc")
    ]["value"]
    assert row.set_index("benchmark").loc["mmlu", "score"] == pytest.approx(mmlu.mean())
    assert ck["step"].max() == 143000
