"""Readers (tidy, Parquet, wide, Eval-Arena, lm-eval), the writer and the bundled example."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from codbayes.data import examples, writers
from codbayes.data.examples import example_paths, list_examples, load_example
from codbayes.data.ladder import Ladder
from codbayes.data.readers import (
    read_eval_arena,
    read_ladder,
    read_lm_eval,
    read_table,
    read_tidy,
    read_wide,
)
from codbayes.data.writers import ladder_to_tables, write_tidy
from codbayes.errors import InputError

EVAL_ARENA = Path("/work/shared/data/eval_arena")
needs_eval_arena = pytest.mark.skipif(
    not (EVAL_ARENA / "ladder_model_meta.csv").exists(), reason="Eval-Arena data not present"
)


def error_of(func, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def assert_same_ladder(a: Ladder, b: Ladder) -> None:
    pd.testing.assert_frame_equal(a.models, b.models)
    assert a.benchmark_names == b.benchmark_names
    for name in a.benchmark_names:
        x, y = a.benchmarks[name], b.benchmarks[name]
        pd.testing.assert_frame_equal(x.scores, y.scores)
        pd.testing.assert_frame_equal(x.samples, y.samples)
        assert x.guess_rate == y.guess_rate


# ----------------------------------------------------------------------------- tidy
def test_read_tidy_csv(tidy_files, tidy_tables):
    ladder = read_tidy(tidy_files["results"], tidy_files["models"], tidy_files["benchmarks"])
    assert ladder.name == "results"
    assert ladder.benchmark_names == ["bench_a", "bench_b"]
    assert ladder.ladder_models == ["m-small", "m-medium", "m-large", "m-xl"]
    assert ladder.anchor_models == ["m-anchor"]
    assert ladder.guess_rate("bench_a") == 0.25 and ladder.guess_rate("bench_b") is None
    raw = tidy_tables["results"]
    want = raw[raw["benchmark"] == "bench_b"].pivot(index="item", columns="model", values="score")
    got = ladder.pass_rates("bench_b", ladder.models.index)
    pd.testing.assert_frame_equal(got, want[got.columns], check_names=False)
    assert (ladder.samples("bench_b") == 10).all().all()


def test_read_ladder_is_the_cli_contract(tidy_files):
    a = read_ladder(tidy_files["results"], tidy_files["models"], benchmarks=None)
    b = read_tidy(tidy_files["results"], tidy_files["models"])
    assert_same_ladder(a, b)


def test_read_tidy_parquet(tmp_path, tidy_files, tidy_tables):
    pytest.importorskip("pyarrow")
    for key in ("results", "models"):
        tidy_tables[key].to_parquet(tmp_path / f"{key}.parquet")
    a = read_tidy(tmp_path / "results.parquet", tmp_path / "models.parquet")
    b = read_tidy(tidy_files["results"], tidy_files["models"])
    assert_same_ladder(a, b)


def test_error_row_is_the_line_number_even_with_blank_lines(tmp_path, tidy_files):
    path = tmp_path / "r.csv"
    path.write_text(
        "benchmark,item,model,score\n"
        "bench_a,q0,m-small,1\n"
        "\n"
        "bench_a,q1,m-small,0\n"
        "bench_a,q2,m-small,2\n"
    )
    msg = error_of(read_tidy, path, tidy_files["models"])
    assert msg.startswith(f"{path}, column 'score', row 5:")


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (b"", "the file is empty"),
        (b"benchmark,item,model,score\n", "no data rows"),
        (b"benchmark,item,model,score\na,b,c,1,2,3\n", "cannot parse CSV"),
        (b"benchmark,item,model,score\n\xff\xfe\x00bad,x,y,1\n", "not a UTF-8"),
    ],
)
def test_bad_csv_files_name_the_file(tmp_path, tidy_files, content, text):
    path = tmp_path / "r.csv"
    path.write_bytes(content)
    msg = error_of(read_tidy, path, tidy_files["models"])
    assert msg.startswith(str(path)) and text in msg


def test_missing_directory_corrupt_gzip_and_parquet(tmp_path, tidy_files):
    msg = error_of(read_tidy, tmp_path / "nope.csv", tidy_files["models"])
    assert msg == f"{tmp_path / 'nope.csv'}: file not found"
    msg = error_of(read_tidy, tmp_path, tidy_files["models"])
    assert "is a directory" in msg
    bad_gz = tmp_path / "r.csv.gz"
    bad_gz.write_bytes(b"this is not gzip")
    assert error_of(read_tidy, bad_gz, tidy_files["models"]).startswith(str(bad_gz))
    truncated = tmp_path / "t.csv.gz"
    truncated.write_bytes(gzip.compress(b"benchmark,item,model,score\n" * 50)[:40])
    assert error_of(read_tidy, truncated, tidy_files["models"]).startswith(str(truncated))
    bad_pq = tmp_path / "r.parquet"
    bad_pq.write_bytes(b"PAR1 not really")
    msg = error_of(read_tidy, bad_pq, tidy_files["models"])
    assert msg.startswith(str(bad_pq)) and ("Parquet" in msg)


def test_benchmarks_file_errors(tmp_path, tidy_files):
    path = tmp_path / "b.csv"
    path.write_text("benchmark,guess_rate\nbench_a,0.25\nbench_zzz,0.5\n")
    msg = error_of(read_tidy, tidy_files["results"], tidy_files["models"], path)
    assert msg.startswith(f"{path}, column 'benchmark', row 3:") and "no items" in msg


def test_read_table_keeps_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("model,params\nNA,007\n")
    frame = read_table(path)
    assert frame.iloc[0].tolist() == ["NA", "007"]


# ----------------------------------------------------------------------------- writer
@pytest.mark.parametrize("ext", [".csv", ".csv.gz", ".parquet"])
def test_round_trip(tmp_path, tidy_files, ext):
    if ext == ".parquet":
        pytest.importorskip("pyarrow")
    ladder = read_tidy(tidy_files["results"], tidy_files["models"], tidy_files["benchmarks"])
    out = [tmp_path / f"out_results{ext}", tmp_path / f"out_models{ext}", tmp_path / f"b{ext}"]
    write_tidy(ladder, *out)
    again = read_tidy(*out)
    assert_same_ladder(ladder, again)
    write_tidy(again, *out)  # and once more: stable
    assert_same_ladder(ladder, read_tidy(*out))


def test_round_trip_keeps_missing_cells(tmp_path, tidy_tables):
    results = tidy_tables["results"].drop(index=[0, 7]).reset_index(drop=True)
    ladder = Ladder.from_tidy(results, tidy_tables["models"])
    assert ladder.missing_cells().sum() == 2
    paths = tmp_path / "r.csv", tmp_path / "m.csv"
    write_tidy(ladder, *paths)
    assert len(pd.read_csv(paths[0])) == len(results)
    assert_same_ladder(ladder, read_tidy(*paths))


def test_writer_is_atomic(tmp_path, tidy_files, monkeypatch):
    ladder = read_tidy(tidy_files["results"], tidy_files["models"])
    out = tmp_path / "out"
    out.mkdir()
    calls = []
    real = writers._writer

    def failing(path):
        write = real(path)

        def wrapped(frame, target):
            calls.append(target)
            if len(calls) == 2:
                write(frame.iloc[:3], target)  # half-written, then fail
                raise OSError("disk full")
            write(frame, target)

        return wrapped

    monkeypatch.setattr(writers, "_writer", failing)
    with pytest.raises(OSError, match="disk full"):
        write_tidy(ladder, out / "r.csv", out / "m.csv")
    assert list(out.iterdir()) == []  # neither the first table nor any temporary file


def test_writer_missing_folder(tmp_path, tidy_files):
    ladder = read_tidy(tidy_files["results"], tidy_files["models"])
    msg = error_of(write_tidy, ladder, tmp_path / "no" / "r.csv", tmp_path / "m.csv")
    assert "folder does not exist" in msg


def test_ladder_to_tables_columns(tidy_files):
    tables = ladder_to_tables(read_tidy(tidy_files["results"], tidy_files["models"]))
    assert list(tables["results"].columns) == ["benchmark", "item", "model", "score", "samples"]
    assert list(tables["models"].columns) == [
        "model",
        "params",
        "tokens",
        "flops",
        "role",
        "family",
    ]
    assert list(tables["benchmarks"].columns) == ["benchmark", "guess_rate"]


# ----------------------------------------------------------------------------- wide
def wide(tidy: pd.DataFrame, bench: str) -> pd.DataFrame:
    sub = tidy[tidy["benchmark"] == bench]
    matrix = sub.pivot(index="item", columns="model", values="score")
    matrix["unrelated-model"] = 0.5  # ignored: not in the models table
    return matrix.rename_axis("example_id").reset_index()


def test_read_wide_matches_tidy(tmp_path, tidy_tables, tidy_files):
    raw = tidy_tables["results"]
    path_a = tmp_path / "a_matrix.csv.gz"
    wide(raw, "bench_a").to_csv(path_a, index=False)
    ladder = read_wide(
        {"bench_a": path_a, "bench_b": wide(raw, "bench_b")},
        tidy_files["models"],
        samples={"bench_b": 10},
        benchmarks={"bench_a": 0.25},
    )
    tidy = read_tidy(tidy_files["results"], tidy_files["models"], tidy_files["benchmarks"])
    assert_same_ladder(ladder, tidy)


def test_read_wide_blank_cells_are_missing(tidy_tables):
    matrix = wide(tidy_tables["results"], "bench_a")
    matrix.loc[2, "m-xl"] = np.nan
    ladder = read_wide({"bench_a": matrix}, tidy_tables["models"])
    assert ladder.missing_cells()["bench_a"] == 1


def test_read_wide_errors(tmp_path, tidy_tables):
    models = tidy_tables["models"]
    matrix = wide(tidy_tables["results"], "bench_a").astype({"m-large": object})
    matrix.loc[3, "m-large"] = "fail"
    path = tmp_path / "m.csv"
    matrix.to_csv(path, index=False)
    msg = error_of(read_wide, {"bench_a": path}, models)
    assert msg.startswith(f"{path}, column 'm-large', row 5:") and "not a number: 'fail'" in msg

    matrix = wide(tidy_tables["results"], "bench_a")
    matrix.loc[0, "m-xl"] = 1.2
    matrix.to_csv(path, index=False)
    msg = error_of(read_wide, {"bench_a": path}, models)
    assert msg.startswith(f"{path}, column 'm-xl', row 2:") and "outside [0, 1]" in msg

    matrix = wide(tidy_tables["results"], "bench_a")
    matrix.loc[4, "example_id"] = "q0"
    matrix.to_csv(path, index=False)
    msg = error_of(read_wide, {"bench_a": path}, models)
    assert msg.startswith(f"{path}, column 'example_id', row 6:") and "duplicate item" in msg

    path.write_text("example_id,m-small,m-xl\n")
    msg = error_of(read_wide, {"bench_a": path}, models)
    assert msg.startswith(str(path)) and "has no items" in msg

    only_some = wide(tidy_tables["results"], "bench_a").drop(columns=["m-anchor"])
    msg = error_of(read_wide, {"bench_a": only_some}, models)
    assert "'m-anchor' is in no benchmark matrix" in msg


# ----------------------------------------------------------------------------- Eval-Arena
@needs_eval_arena
def test_eval_arena_qwen_drops_model_without_compute():
    with pytest.warns(UserWarning, match="dropping Qwen1.5-110B"):
        ladder = read_eval_arena("humaneval_hf", "Qwen1.5", data_dir=EVAL_ARENA)
    assert len(ladder.ladder_models) == 7 and ladder.anchor_models == []
    assert ladder.benchmarks["humaneval_hf"].n_items == 164
    assert ladder.models.loc["Qwen1.5-0.5B", "params"] == 5e8
    assert ladder.models.loc["Qwen1.5-0.5B", "flops"] == pytest.approx(7.2e21)
    assert (ladder.samples("humaneval_hf") == 1).all().all()


@needs_eval_arena
def test_eval_arena_anchor_and_samples():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ladder = read_eval_arena(
            "humaneval_hf", "Qwen1.5", anchors=["Qwen1.5-110B"], data_dir=EVAL_ARENA
        )
    assert ladder.anchor_models == ["Qwen1.5-110B"]
    crux = read_eval_arena(["cruxeval_input", "cruxeval_output"], "CodeLlama", data_dir=EVAL_ARENA)
    assert crux.benchmark_names == ["cruxeval_input", "cruxeval_output"]
    assert crux.ladder_models == ["codellama-7b", "codellama-13b", "codellama-34b"]
    assert (crux.samples("cruxeval_input") == 10).all().all()


@needs_eval_arena
def test_eval_arena_errors():
    msg = error_of(read_eval_arena, "humaneval_hf", "Qwen9", data_dir=EVAL_ARENA)
    assert "no family 'Qwen9'" in msg and "Qwen1.5" in msg
    msg = error_of(read_eval_arena, "nope", "Qwen1.5", data_dir=EVAL_ARENA)
    assert "unknown benchmark 'nope'" in msg and "humaneval_hf" in msg
    with pytest.warns(UserWarning):
        msg = error_of(read_eval_arena, "mbpp+", "CodeGen", data_dir=EVAL_ARENA)
    assert "column 'tokens_T'" in msg and "only 0 model(s) with known compute" in msg
    msg = error_of(read_eval_arena, "humaneval_hf", "Qwen1.5", anchors=["x"], data_dir=EVAL_ARENA)
    assert "anchor 'x'" in msg


# ----------------------------------------------------------------------------- lm-eval
STAMP = "2024-05-01T10-00-00.123456"


def write_lm_eval_run(
    folder: Path, model: str, scores: dict[str, list], *, stamp: str = STAMP, results=True
) -> Path:
    """A folder as written by ``lm_eval --output_path OUT --log_samples`` for one model.

    ``scores`` maps task -> per-doc values; ``arc_easy`` logs acc/acc_norm (multiple choice),
    ``gsm8k`` logs exact_match under two filters, ``humaneval_5`` logs pass@1 over 5 repeats.
    """
    folder.mkdir(parents=True, exist_ok=True)
    configs = {}
    for task, values in scores.items():
        lines = []
        repeats = 5 if task == "humaneval_5" else 1
        configs[task] = {"task": task, "repeats": repeats, "metric_list": []}
        for doc_id, value in enumerate(values):
            base = {
                "doc_id": doc_id,
                "doc": {"question": f"q{doc_id}", "answer": "a"},
                "target": "a",
                "doc_hash": "d",
                "prompt_hash": "p",
                "target_hash": "t",
            }
            if task == "arc_easy":
                lines.append(
                    base
                    | {
                        "arguments": {
                            "gen_args_0": {"arg_0": "Q: ...", "arg_1": " a"},
                            "gen_args_1": {"arg_0": "Q: ...", "arg_1": " b"},
                        },
                        "resps": [[["-1.5", "False"]], [["-2.5", "False"]]],
                        "filtered_resps": [["-1.5", "False"], ["-2.5", "False"]],
                        "filter": "none",
                        "metrics": ["acc", "acc_norm"],
                        "acc": float(value),
                        "acc_norm": 1.0 - float(value),
                    }
                )
            elif task == "gsm8k":
                for filt, v in (("strict-match", value), ("flexible-extract", 1.0)):
                    lines.append(
                        base
                        | {
                            "arguments": {
                                "gen_args_0": {"arg_0": "Q: ...", "arg_1": {"until": []}}
                            },
                            "resps": [["The answer is a"]],
                            "filtered_resps": ["a"],
                            "filter": filt,
                            "metrics": ["exact_match"],
                            "exact_match": v,
                        }
                    )
            else:
                lines.append(
                    base
                    | {
                        "arguments": {"gen_args_0": {"arg_0": "def f():", "arg_1": {}}},
                        "resps": [["x"] * repeats],
                        "filtered_resps": [["x"] * repeats],
                        "filter": "create_test",
                        "metrics": ["pass@1"],
                        "pass@1": value,
                    }
                )
        text = "".join(json.dumps(line) + "\n" for line in lines)
        (folder / f"samples_{task}_{stamp}.jsonl").write_text(text)
    if results:
        (folder / f"results_{stamp}.json").write_text(
            json.dumps(
                {
                    "results": {t: {"alias": t} for t in scores},
                    "configs": configs,
                    "config": {"model": "hf", "model_args": f"pretrained={model},dtype=bfloat16"},
                    "model_name": model,
                    "model_name_sanitized": model.replace("/", "__"),
                }
            )
        )
    return folder


LM_MODELS = pd.DataFrame(
    {
        "model": ["org/tiny-1", "org/tiny-2", "org/tiny-3"],
        "params": [1e8, 3e8, 1e9],
        "tokens": [1e10, 3e10, 1e11],
    }
)


@pytest.fixture
def lm_eval_runs(tmp_path):
    rng = np.random.default_rng(1)
    folders = []
    for k, model in enumerate(LM_MODELS["model"]):
        scores = {
            "arc_easy": list(rng.integers(0, 2, 8)),
            "gsm8k": [float(v) for v in rng.integers(0, 2, 5)],
            "humaneval_5": [float(v) / 5 for v in rng.integers(0, 6, 4)],
        }
        folders.append(write_lm_eval_run(tmp_path / model.replace("/", "__"), model, scores))
        scores_old = {"arc_easy": [0] * 8}  # an earlier run of the same task: ignored
        write_lm_eval_run(
            folders[-1], model, scores_old, stamp="2024-01-01T00-00-00.0", results=False
        )
        assert k == len(folders) - 1
    return folders


def test_read_lm_eval(lm_eval_runs, tmp_path):
    models_path = tmp_path / "models.csv"
    LM_MODELS.to_csv(models_path, index=False)
    ladder = read_lm_eval(lm_eval_runs, models_path, benchmarks={"arc_easy": 0.25})
    assert ladder.benchmark_names == ["arc_easy", "gsm8k", "humaneval_5"]
    assert ladder.ladder_models == ["org/tiny-1", "org/tiny-2", "org/tiny-3"]
    assert ladder.benchmarks["arc_easy"].n_items == 8
    assert ladder.guess_rate("arc_easy") == 0.25
    first = [
        json.loads(x)
        for x in (lm_eval_runs[0] / f"samples_arc_easy_{STAMP}.jsonl").read_text().splitlines()
    ]
    got = ladder.pass_rates("arc_easy")["org/tiny-1"]
    assert [got[str(r["doc_id"])] for r in first] == [r["acc"] for r in first]  # latest, acc
    gsm = ladder.benchmarks["gsm8k"]
    assert gsm.n_items == 5 and gsm.scores.to_numpy().min() == 0  # first filter, not flexible
    assert (ladder.samples("humaneval_5") == 5).all().all()  # repeats kept by the filter
    assert (ladder.samples("arc_easy") == 1).all().all()


def test_read_lm_eval_options(lm_eval_runs):
    runs = {f"model-{i}": folder for i, folder in enumerate(lm_eval_runs)}
    models = LM_MODELS.assign(model=list(runs))
    ladder = read_lm_eval(
        runs,
        models,
        tasks=["arc_easy", "gsm8k"],
        metric={"arc_easy": "acc_norm"},
        filter="flexible-extract",
        samples={"gsm8k": 3},
    )
    assert ladder.benchmark_names == ["arc_easy", "gsm8k"]
    assert (ladder.pass_rates("gsm8k") == 1.0).all().all()
    assert (ladder.samples("gsm8k") == 3).all().all()
    plain = read_lm_eval(runs, models, tasks=["arc_easy"])
    both = ladder.pass_rates("arc_easy") + plain.pass_rates("arc_easy")
    assert (both == 1.0).all().all()  # acc_norm was written as 1 - acc


def test_read_lm_eval_model_name_fallbacks(tmp_path):
    folders = []
    for model in LM_MODELS["model"]:
        folder = write_lm_eval_run(
            tmp_path / model.split("/")[1], model, {"arc_easy": [1, 0]}, results=False
        )
        folders.append(folder)
    models = LM_MODELS.assign(model=["tiny-1", "tiny-2", "tiny-3"])  # folder names
    assert read_lm_eval(folders, models).ladder_models == ["tiny-1", "tiny-2", "tiny-3"]


def test_read_lm_eval_errors(lm_eval_runs, tmp_path):
    bad = lm_eval_runs[1] / f"samples_gsm8k_{STAMP}.jsonl"
    lines = bad.read_text().splitlines()
    lines[2] = lines[2][:-5]
    bad.write_text("\n".join(lines) + "\n")
    msg = error_of(read_lm_eval, lm_eval_runs, LM_MODELS)
    assert msg.startswith(f"{bad}, row 3:") and "not valid JSON" in msg

    msg = error_of(read_lm_eval, lm_eval_runs, LM_MODELS, tasks=["arc_easy"], metric="f1")
    assert "column 'f1', row 1: no metric 'f1'" in msg and "acc, acc_norm" in msg
    msg = error_of(
        read_lm_eval, lm_eval_runs, LM_MODELS.iloc[:2], tasks=["arc_easy"], min_ladder_models=2
    )
    assert "'org/tiny-3' is not in the models table" in msg
    msg = error_of(read_lm_eval, lm_eval_runs, LM_MODELS, tasks=["mmlu"])
    assert "task 'mmlu' found in no model folder" in msg
    empty = tmp_path / "empty"
    empty.mkdir()
    msg = error_of(read_lm_eval, {"org/tiny-1": empty}, LM_MODELS)
    assert msg.startswith(str(empty)) and "--log_samples" in msg
    msg = error_of(read_lm_eval, [tmp_path / "missing"], LM_MODELS)
    assert "folder not found" in msg


def test_read_lm_eval_rejects_non_item_metrics(tmp_path):
    folders = []
    for model in LM_MODELS["model"]:
        folder = tmp_path / model.replace("/", "__")
        write_lm_eval_run(folder, model, {"arc_easy": [1, 0, 1]})
        path = folder / f"samples_arc_easy_{STAMP}.jsonl"
        rows = [json.loads(x) for x in path.read_text().splitlines()]
        rows[1]["acc"] = 3.0
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        folders.append(folder)
    msg = error_of(read_lm_eval, folders, LM_MODELS)
    assert ", column 'acc', row 2: score 3 is outside [0, 1]" in msg


# ----------------------------------------------------------------------------- example
def test_example_files_and_loading():
    assert "qwen1.5-humaneval" in list_examples()
    paths = example_paths()
    for key in ("results", "models", "benchmarks"):
        assert paths[key].is_file()
    folder = paths["results"].parent
    assert (folder / "NOTICE.md").is_file()
    notice = (folder / "NOTICE.md").read_text()
    assert "012edd758d9ae7ef3d47a56a462e75ab2c659828" in notice and "Apache-2.0" in notice
    assert sum(p.stat().st_size for p in folder.iterdir()) < 200_000
    ladder = load_example()
    assert ladder.name == "qwen1.5-humaneval"
    assert len(ladder.ladder_models) == 7 and ladder.anchor_models == ["Qwen1.5-110B"]
    assert ladder.benchmarks["humaneval_hf"].n_items == 164
    assert ladder.missing_cells().sum() == 0
    train, held = ladder.holdout_largest(1)  # what `codbayes demo` does
    assert held.ladder_models == ["Qwen1.5-72B"] and len(train.ladder_models) == 6
    with pytest.raises(KeyError, match="unknown example"):
        example_paths("nope")


@needs_eval_arena
def test_example_is_reproducible_from_eval_arena(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_example", Path(__file__).parents[1] / "scripts" / "make_example.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = module.build(EVAL_ARENA)
    assert_same_ladder(rebuilt, load_example())
    name = examples.DEFAULT_EXAMPLE
    out = [tmp_path / f"{name}.results.csv.gz", tmp_path / f"{name}.models.csv"]
    write_tidy(rebuilt, *out)
    assert out[0].read_bytes() == example_paths()["results"].read_bytes()
