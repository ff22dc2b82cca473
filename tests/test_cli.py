"""The command-line contract: outputs, JSON schema, saved fits, and one-line errors (exit 2)."""

from __future__ import annotations

import json

import pytest
from _contract import JSON_FIELDS

from codbayes.cli import main
from codbayes.data.examples import example_paths


@pytest.fixture(scope="module")
def example_args() -> list[str]:
    p = example_paths()
    return [str(p["results"]), "--models", str(p["models"]), "--benchmarks", str(p["benchmarks"])]


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *needles):
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("codbayes: error:"), err
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("method", ["cod-point", "e2e-exp", "e2e-passrate", "e2e-sigmoid"])
def test_predict_json_schema_for_point_methods(method, example_args, capsys, tmp_path):
    out_file = tmp_path / "pred.json"
    code, out, _ = run(
        [
            "predict",
            *example_args,
            "--target-flops",
            "3e24",
            "--method",
            method,
            "--json",
            "--out",
            out_file,
            "--quiet",
        ],
        capsys,
    )
    assert code == 0
    obj = json.loads(out)
    assert obj == json.loads(out_file.read_text())
    assert obj["method"] == method and obj["target_flops"] == 3e24
    entry = obj["benchmarks"]["humaneval_hf"]
    assert set(entry) == JSON_FIELDS
    assert 0 <= entry["median"] <= 1
    assert entry["q05"] == entry["median"] == entry["q95"] and entry["sd"] == 0
    assert entry["n_items"] == 164


def test_predict_is_deterministic(example_args, capsys):
    argv = ["predict", *example_args, "--target-flops", "2e24", "--method", "cod-point", "--json"]
    assert run(argv, capsys)[1] == run(argv, capsys)[1]


def test_predict_table_output(example_args, capsys):
    code, out, _ = run(
        ["predict", *example_args, "--target-flops", "2e24", "--method", "e2e-exp"], capsys
    )
    assert code == 0 and "humaneval_hf" in out and "90% interval" in out


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--target-flops", "-1"], ["--target-flops"]),
        (["--target-flops", "abc"], ["--target-flops"]),
        (["--target-flops", "1e24", "--anchor", "no-such-model"], ["--anchor", "no-such-model"]),
        (["--target-flops", "1e24", "--method", "magic"], ["--method"]),
        (["--target-flops", "1e24", "--seed", "-4"], ["--seed"]),
    ],
)
def test_predict_bad_arguments(extra, needles, example_args, capsys):
    code, _, err = run(["predict", *example_args, *extra], capsys)
    assert_one_line_error(code, err, *needles)


def test_anchor_flag_can_leave_too_few_rungs(example_args, capsys):
    rungs = ["Qwen1.5-0.5B", "Qwen1.5-1.8B", "Qwen1.5-4B", "Qwen1.5-7B", "Qwen1.5-14B"]
    code, _, err = run(
        [
            "predict",
            *example_args,
            "--target-flops",
            "1e24",
            "--method",
            "cod-point",
            "--anchor",
            *rungs,
        ],
        capsys,
    )
    assert_one_line_error(code, err, "ladder")


def test_missing_models_and_bad_results(tmp_path, capsys, example_args):
    code, _, err = run(["predict", example_args[0], "--target-flops", "1e24"], capsys)
    assert_one_line_error(code, err, "--models")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run(
        ["predict", empty, "--models", example_args[2], "--target-flops", "1e24"], capsys
    )
    assert_one_line_error(code, err, "empty.csv")


def test_out_into_missing_directory_writes_nothing(example_args, capsys, tmp_path):
    target = tmp_path / "nope" / "pred.json"
    code, _, err = run(
        [
            "predict",
            *example_args,
            "--target-flops",
            "1e24",
            "--method",
            "e2e-exp",
            "--out",
            target,
        ],
        capsys,
    )
    assert_one_line_error(code, err, "--out")
    assert not target.parent.exists()


def test_fit_plan_monitor_report_round_trip(example_args, capsys, tmp_path):
    fit = tmp_path / "fit.nc"
    code, out, _ = run(["fit", *example_args, "--method", "cod-point", "--out", fit], capsys)
    assert code == 0 and fit.exists()
    direct = run(
        ["predict", *example_args, "--target-flops", "3e24", "--method", "cod-point", "--json"],
        capsys,
    )[1]
    saved = run(["predict", fit, "--target-flops", "3e24", "--json"], capsys)[1]
    assert json.loads(direct)["benchmarks"] == json.loads(saved)["benchmarks"]

    code, out, _ = run(
        ["plan", fit, "--benchmark", "humaneval_hf", "--score", "0.5", "--prob", "0.9", "--json"],
        capsys,
    )
    plan = json.loads(out)
    assert code == 0 and plan["status"] == "reached"
    predicted = json.loads(
        run(["predict", fit, "--target-flops", str(plan["flops"] * 1.05), "--json"], capsys)[1]
    )
    assert predicted["benchmarks"]["humaneval_hf"]["median"] >= 0.5

    ckpt = tmp_path / "ckpt.csv"
    ckpt.write_text("checkpoint,flops,benchmark,score\nc1,1e23,humaneval_hf,0.05\n")
    code, out, err = run(["monitor", fit, "--checkpoints", ckpt], capsys)
    assert code == 0 and "below" in out

    code, out, _ = run(["report", fit, "--out", tmp_path / "rep", "--quiet"], capsys)
    html = (tmp_path / "rep" / "index.html").read_text()
    assert code == 0 and "data:image/png;base64," in html

    code, _, err = run(["plan", fit, "--benchmark", "gsm8k", "--score", "0.5"], capsys)
    assert_one_line_error(code, err, "gsm8k")
    code, _, err = run(["plan", fit, "--benchmark", "humaneval_hf", "--score", "1.5"], capsys)
    assert_one_line_error(code, err, "--score")


def test_saved_fit_errors(tmp_path, capsys):
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not a fit")
    code, _, err = run(["plan", bad, "--benchmark", "x", "--score", "0.5"], capsys)
    assert_one_line_error(code, err, "bad.nc")
    code, _, err = run(["report", tmp_path / "missing.nc", "--out", tmp_path / "r"], capsys)
    assert_one_line_error(code, err, "missing.nc")


def test_backtest_point_methods_json(example_args, capsys):
    code, out, _ = run(
        ["backtest", *example_args, "--methods", "cod-point", "e2e-exp", "--json", "--quiet"],
        capsys,
    )
    assert code == 0
    obj = json.loads(out)
    text = json.dumps(obj)
    assert "cod-point" in text and "e2e-exp" in text and "Qwen1.5-72B" in text


def test_backtest_unknown_method(example_args, capsys):
    code, _, err = run(["backtest", *example_args, "--methods", "nope"], capsys)
    assert_one_line_error(code, err)


def test_demo_with_point_method(capsys):
    code, out, _ = run(["demo", "--method", "cod-point", "--quiet"], capsys)
    assert code == 0
    assert "Qwen1.5-72B" in out or "actual" in out


def test_help_and_version(capsys):
    assert main(["--version"]) == 0
    assert "codbayes" in capsys.readouterr().out
    assert main(["predict", "--help"]) == 0
    assert "--target-flops" in capsys.readouterr().out
    assert main([]) == 2


def test_flp_without_loss_data_is_a_clear_error(example_args, capsys):
    code, _, err = run(
        ["predict", *example_args, "--target-flops", "1e24", "--method", "flp"], capsys
    )
    assert_one_line_error(code, err, "loss")
    code, _, err = run(
        ["predict", "--models", example_args[2], "--target-flops", "1e24", "--method", "flp"],
        capsys,
    )
    assert_one_line_error(code, err, "--losses")


def test_flp_from_a_losses_file(tmp_path, capsys):
    from pathlib import Path

    from codbayes.data.checkpoints import read_olmo_ladder

    root = Path(__file__).resolve().parents[2] / "shared/data/olmo_ladder"
    if not root.exists():
        pytest.skip("shared OLMo ladder data not present")
    ladder = read_olmo_ladder(root, targets=False)
    models, losses = tmp_path / "models.csv", tmp_path / "losses.csv.gz"
    ladder.models.reset_index().to_csv(models, index=False)
    ladder.checkpoints.to_csv(losses, index=False)
    code, out, _ = run(
        [
            "predict",
            "--models",
            models,
            "--losses",
            losses,
            "--target-flops",
            "1.95e23",
            "--method",
            "flp",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    obj = json.loads(out)
    assert obj["method"] == "flp" and "arc_easy" in obj["benchmarks"]
    assert 0.25 < obj["benchmarks"]["arc_easy"]["median"] < 1


@pytest.mark.slow
def test_quiet_cod_bayes_says_only_that_the_fit_is_poor(example_args, capfd):
    # --quiet: no progress bars and no PyMC log lines (they bypass capsys, hence capfd); a fit
    # with too few draws still gets its one-line convergence warning
    argv = ["predict", *example_args, "--target-flops", "3e24", "--draws", "30", "--chains", "1"]
    code = main([str(a) for a in [*argv, "--quiet"]])
    out, err = capfd.readouterr()
    assert code == 0 and "humaneval_hf" in out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("codbayes: warning: MCMC diagnostics"), err
