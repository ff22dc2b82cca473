"""``codbayes validate``: a summary and exit 0 on good input, one error line and exit 2 on bad."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from codbayes.cli import main
from codbayes.data.examples import example_paths
from codbayes.data.readers import read_eval_arena
from codbayes.data.writers import write_tidy
from codbayes.errors import InputError

EVAL_ARENA = Path("/work/shared/data/eval_arena")
needs_eval_arena = pytest.mark.skipif(
    not (EVAL_ARENA / "ladder_model_meta.csv").exists(), reason="Eval-Arena data not present"
)


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["validate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str, *fragments: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("codbayes: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_validate_shipped_example(capsys):
    paths = example_paths()
    code, out, err = run(
        capsys, paths["results"], "--models", paths["models"], "--benchmarks", paths["benchmarks"]
    )
    assert code == 0, err
    assert "humaneval_hf: 164 items, 8 models, 0 missing cells, guess rate 0" in out
    assert "Qwen1.5-0.5B" in out and "Qwen1.5-110B" in out and "anchor" in out
    assert "8 model(s) by compute" in out


def test_validate_tidy_files_with_anchor_flag(capsys, tidy_files):
    code, out, _ = run(capsys, tidy_files["results"], "--models", tidy_files["models"])
    assert code == 0 and "2 benchmark(s)" in out


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("results", "fragments"),
    [
        ("", ["the file is empty"]),
        ("benchmark,item,model,score\n", ["no data rows"]),
        ("benchmark,item,model\nb,1,m-small\n", ["column 'score'", "missing column"]),
        ("benchmark,item,model,score,x\nb,1,m-small,1,2\n", ["column 'x'", "unexpected column"]),
        ("benchmark,item,model,score\nb,1,m-small,1\nb,2,m-small,7\n", ["column 'score', row 3"]),
        ("benchmark,item,model,score\nb,1,m-small,yes\n", ["column 'score', row 2", "'yes'"]),
        ("benchmark,item,model,score\nb,1,m-small,1\nb,1,m-small,0\n", ["row 3", "duplicate"]),
        ("benchmark,item,model,score\nb,1,gpt-9,1\n", ["column 'model', row 2", "unknown model"]),
        ("benchmark,item,model,score,samples\nb,1,m-small,1,0\n", ["column 'samples', row 2"]),
        ("benchmark,item,model,score\nb,,m-small,1\n", ["column 'item', row 2", "blank cell"]),
        ('benchmark,item,model,score\nb,"1,m-small,1\n', ["r.csv"]),
    ],
)
def test_validate_broken_results(capsys, tmp_path, tidy_files, results, fragments):
    path = write(tmp_path / "r.csv", results)
    code, out, err = run(capsys, path, "--models", tidy_files["models"])
    assert code == 2 and out == ""
    assert_one_error_line(err, str(path), *fragments)


@pytest.mark.parametrize(
    ("models", "fragments"),
    [
        ("model,params,tokens\nm-small,1e8,2e10\nm-small,1e9,2e10\n", ["row 3", "duplicate"]),
        ("model,params\nm-small,1e8\n", ["column 'tokens'"]),
        ("model,params,tokens\nm-small,1e8,lots\n", ["column 'tokens', row 2", "'lots'"]),
        ("model,params,tokens,role\nm-small,1e8,1e10,boss\n", ["column 'role', row 2"]),
        (
            "model,params,tokens\nm-small,1e8,2e10\nm-medium,4e8,\nm-large,1e9,1e11\n",
            ["column 'tokens', row 3", "no training compute"],
        ),
        ("model,params,tokens\nm-small,1e8,2e10\nm-medium,4e8,8e10\n", ["only 2 ladder model"]),
    ],
)
def test_validate_broken_models(capsys, tmp_path, tidy_files, models, fragments):
    path = write(tmp_path / "m.csv", models)
    code, _, err = run(capsys, tidy_files["results"], "--models", path)
    assert code == 2
    assert_one_error_line(err, str(path), *fragments)


def test_validate_missing_and_binary_files(capsys, tmp_path, tidy_files):
    code, _, err = run(capsys, tmp_path / "nope.csv", "--models", tidy_files["models"])
    assert code == 2
    assert_one_error_line(err, "nope.csv", "file not found")
    binary = tmp_path / "r.parquet"
    binary.write_bytes(b"\x00\x01garbage")
    code, _, err = run(capsys, binary, "--models", tidy_files["models"])
    assert code == 2
    assert_one_error_line(err, "r.parquet")
    gz = tmp_path / "r.csv.gz"
    gz.write_bytes(b"\x1f\x8b\x08garbage")
    code, _, err = run(capsys, gz, "--models", tidy_files["models"])
    assert code == 2
    assert_one_error_line(err, "r.csv.gz")


def test_validate_bad_benchmarks_file(capsys, tmp_path, tidy_files):
    path = write(tmp_path / "b.csv", "benchmark,guess_rate\nbench_a,1.5\n")
    code, _, err = run(
        capsys, tidy_files["results"], "--models", tidy_files["models"], "--benchmarks", path
    )
    assert code == 2
    assert_one_error_line(err, str(path), "column 'guess_rate', row 2")


# ----------------------------------------------------------------------------- real ladders
EVAL_ARENA_LADDERS = [
    ("humaneval_hf", "Qwen1.5", ["Qwen1.5-110B"]),
    ("humaneval_hf", "Llama", []),
    ("humaneval_hf", "Llama-2", []),
    ("cruxeval_input", "DeepSeek-Coder", []),
    ("cruxeval_output", "DeepSeek-Coder", []),
    ("cruxeval_input", "CodeLlama", []),
    ("cruxeval_output", "CodeLlama", []),
    ("lcb_codegen", "DeepSeek-Coder", []),
    ("lcb_codegen", "CodeLlama", []),
    ("lcb_codegen", "StarCoder2", []),
]


@needs_eval_arena
@pytest.mark.parametrize(("benchmark", "family", "anchors"), EVAL_ARENA_LADDERS)
def test_validate_real_eval_arena_ladders(capsys, tmp_path, benchmark, family, anchors):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped silently
        ladder = read_eval_arena(benchmark, family, anchors=anchors, data_dir=EVAL_ARENA)
    paths = [tmp_path / "results.csv.gz", tmp_path / "models.csv"]
    write_tidy(ladder, *paths)
    code, out, err = run(capsys, paths[0], "--models", paths[1])
    assert code == 0, err
    n_items = ladder.benchmarks[benchmark].n_items
    assert f"{benchmark}: {n_items} items, {len(ladder.models)} models, 0 missing cells" in out
    assert len(ladder.ladder_models) >= 3


@needs_eval_arena
@pytest.mark.parametrize("family", ["CodeGen", "CodeT5+"])
def test_eval_arena_ladders_without_token_counts_fail_clearly(family):
    with pytest.warns(UserWarning, match="training tokens unknown"):
        with pytest.raises(InputError, match="no tokens for"):
            read_eval_arena("mbpp+", family, data_dir=EVAL_ARENA)
