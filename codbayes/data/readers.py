"""Readers: files in several layouts -> a validated :class:`~codbayes.data.ladder.Ladder`.

* :func:`read_tidy` / :func:`read_ladder`: the tidy file contract of the ``codbayes`` command
  (results, models and optional benchmarks tables; CSV, gzipped CSV or Parquet).
* :func:`read_wide`: one item x model matrix per benchmark plus a models table.
* :func:`read_eval_arena`: the Eval-Arena matrices and ``ladder_model_meta.csv`` layout.
* :func:`read_lm_eval`: ``lm-evaluation-harness`` output written with ``--log_samples``.

Every problem with a file (missing, unreadable, empty, malformed, invalid content) raises
:class:`~codbayes.errors.InputError` with a one-line message naming the file; pandas' and
pyarrow's own exceptions never escape.  The file contract is described in ``docs/data.md``.
"""

from __future__ import annotations

import json
import math
import os
import warnings
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from codbayes.data.ladder import MIN_LADDER_MODELS, Ladder
from codbayes.data.validate import (
    guess_rates_from_mapping,
    row_numbers,
    validate_benchmarks,
    validate_models,
)
from codbayes.errors import InputError

PathLike = str | os.PathLike
TableLike = PathLike | pd.DataFrame

PARQUET_SUFFIXES = (".parquet", ".pq")
EVAL_ARENA_ENV = "CODBAYES_EVAL_ARENA"
EVAL_ARENA_DEFAULT = Path("/work/shared/data/eval_arena")
EVAL_ARENA_META = "ladder_model_meta.csv"
EVAL_ARENA_SAMPLES = {
    "humaneval_hf": 1,
    "humaneval+": 1,
    "mbpp+": 1,
    "cruxeval_input": 10,
    "cruxeval_output": 10,
    "lcb_codegen": 10,
}
"""Samples behind each Eval-Arena pass rate: greedy (1) or 10 samples at T=0.2."""
EVAL_ARENA_META_SOURCE = {"cruxeval_input": "cruxeval", "cruxeval_output": "cruxeval"}
"""Eval-Arena benchmark -> value of the ``source`` column of ``ladder_model_meta.csv``."""

LM_EVAL_METRICS = ("acc", "exact_match", "pass@1", "pass_at_1", "acc_norm", "em", "mc2", "f1")
"""Per-item metrics tried in this order when :func:`read_lm_eval` is given no ``metric``."""

__all__ = [
    "read_eval_arena",
    "read_ladder",
    "read_lm_eval",
    "read_table",
    "read_tidy",
    "read_wide",
]


# ----------------------------------------------------------------------------- raw tables
def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _check_file(path: Path, source: str) -> None:
    if not path.exists():
        raise InputError("file not found", source=source)
    if path.is_dir():
        raise InputError("is a directory, expected a file", source=source)


def read_table(path: PathLike, *, source: str | None = None) -> pd.DataFrame:
    """Read a CSV (optionally compressed, e.g. ``.csv.gz``) or Parquet file as raw text cells.

    Parameters
    ----------
    path : str or os.PathLike
        The file; ``.parquet``/``.pq`` is read as Parquet, anything else as CSV (compression
        inferred from the extension: ``.gz``, ``.bz2``, ``.zip``, ``.xz``, ``.zst``).
    source : str, optional
        Name used in error messages (default: the path).

    Returns
    -------
    pandas.DataFrame
        CSV cells as text (blank cells missing), Parquet columns as stored.  The integer index
        counts data lines from 0 (blank lines included, then dropped), so ``index + 2`` is the
        line number in the file.

    Raises
    ------
    codbayes.errors.InputError
        The file is missing, a directory, empty, not UTF-8, not parseable, or needs pyarrow.
    """
    p = Path(path)
    source = source or str(path)
    _check_file(p, source)
    if _is_parquet(p):
        return _read_parquet(p, source)
    try:
        # header=None: every line is data, so a row with too many fields is a parse error
        # (with a header, pandas would silently turn the extra leading fields into an index)
        lines = pd.read_csv(
            p,
            header=None,
            dtype=str,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", source=source) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text (CSV) file", source=source) from None
    except pd.errors.ParserError as err:
        raise InputError(f"cannot parse CSV: {_first_line(err)}", source=source) from None
    except (OSError, EOFError, zlib.error, ValueError) as err:
        raise InputError(f"cannot read file: {_first_line(err)}", source=source) from None
    header = lines.iloc[0]
    if header.isna().all():
        raise InputError("the first line (the header) is blank", source=source, row=1)
    columns = [
        f"Unnamed: {i}" if pd.isna(name) else str(name) for i, name in enumerate(header.tolist())
    ]
    frame = lines.iloc[1:].set_axis(columns, axis=1)
    frame.index = pd.RangeIndex(len(frame))  # data line k (from 0) is line k + 2 of the file
    blank = frame.isna().all(axis=1)
    return frame.loc[~blank]


def _read_parquet(path: Path, source: str) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError(
            "reading Parquet needs pyarrow: pip install 'codbayes[parquet]'", source=source
        ) from None
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types (ArrowInvalid, OSError, ...)
        raise InputError(f"cannot read Parquet file: {_first_line(err)}", source=source) from None
    named = any(n is not None for n in frame.index.names)
    frame = frame.reset_index(drop=not named)
    return frame


def _table(table: TableLike, default_source: str) -> tuple[pd.DataFrame, str]:
    """A raw table and its name for messages, from a path or a DataFrame."""
    if isinstance(table, pd.DataFrame):
        return table, default_source
    return read_table(table), str(table)


def _label(path: PathLike) -> str:
    """A short ladder name from a file name (``results.csv.gz`` -> ``results``)."""
    name = Path(path).name
    for _ in range(2):
        stem, dot, _ext = name.rpartition(".")
        if dot and stem:
            name = stem
    return name


# ----------------------------------------------------------------------------- tidy
def read_tidy(
    results_path: PathLike,
    models_path: PathLike,
    benchmarks_path: PathLike | None = None,
    *,
    name: str | None = None,
    min_ladder_models: int = MIN_LADDER_MODELS,
) -> Ladder:
    """Read the tidy file contract: results, models and optional benchmarks tables.

    Parameters
    ----------
    results_path : str or os.PathLike
        Columns ``benchmark, item, model, score[, samples]``: one row per (benchmark, item,
        model); ``score`` a pass rate in [0, 1], ``samples`` (default 1) the samples behind it.
    models_path : str or os.PathLike
        Columns ``model, params, tokens[, flops][, role][, family]``.
    benchmarks_path : str or os.PathLike, optional
        Columns ``benchmark, guess_rate`` (random-guess accuracy in [0, 1), blank if unknown).
    name : str, optional
        Ladder label (default: the results file name without extensions).
    min_ladder_models : int, default 3
        Fewest models with role ``ladder`` accepted.

    Returns
    -------
    Ladder

    Raises
    ------
    codbayes.errors.InputError
        Any problem, in one line naming the file, column and an example row.
    """
    results = read_table(results_path)
    models = read_table(models_path)
    ladder = Ladder.from_tidy(
        results,
        models,
        results_source=str(results_path),
        models_source=str(models_path),
        name=name or _label(results_path),
        min_ladder_models=min_ladder_models,
    )
    if benchmarks_path is None:
        return ladder
    rates = validate_benchmarks(
        read_table(benchmarks_path), ladder.benchmark_names, source=str(benchmarks_path)
    )
    return _with_guess_rates(ladder, rates)


def _with_guess_rates(ladder: Ladder, rates: Mapping[str, float]) -> Ladder:
    from dataclasses import replace

    benchmarks = {
        b: replace(r, guess_rate=rates.get(b, r.guess_rate)) for b, r in ladder.benchmarks.items()
    }
    return Ladder(
        models=ladder.models,
        benchmarks=benchmarks,
        name=ladder.name,
        checkpoints=ladder.checkpoints,
    )


def read_ladder(
    results: PathLike, models: PathLike, *, benchmarks: PathLike | None = None
) -> Ladder:
    """Read the files given to the ``codbayes`` command (see :func:`read_tidy`)."""
    return read_tidy(results, models, benchmarks)


# ----------------------------------------------------------------------------- wide
def _wide_to_tidy(
    matrix: pd.DataFrame,
    benchmark: str,
    models: set[str],
    samples: int,
    *,
    source: str,
) -> pd.DataFrame:
    """One item x model matrix -> tidy rows for the columns that are known models."""
    if matrix.shape[1] == 0:
        raise InputError("the file is empty (no header line)", source=source)
    frame = matrix.rename(columns=lambda c: str(c).strip())
    item_col = frame.columns[0]
    if len(frame) == 0:
        raise InputError(f"benchmark {benchmark!r} has no items (no data rows)", source=source)
    rows = row_numbers(frame)
    items = frame[item_col].astype(object)
    items = items.map(lambda v: None if pd.isna(v) or not str(v).strip() else str(v).strip())
    blank = items.isna().to_numpy()
    if blank.any():
        raise InputError("blank item id", source=source, column=item_col, row=int(rows[blank][0]))
    dup = items.duplicated().to_numpy()
    if dup.any():
        raise InputError(
            f"duplicate item id {items[dup].iloc[0]!r}",
            source=source,
            column=item_col,
            row=int(rows[dup][0]),
        )
    cols = [c for c in frame.columns[1:] if c in models]
    if not cols:
        raise InputError(
            "no column is a model of the models table (columns are models, the first is the "
            "item id)",
            source=source,
        )
    parts = []
    for col in cols:
        raw = frame[col]
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        if not pd.api.types.is_numeric_dtype(raw.dtype):
            filled = raw.astype(object).map(lambda v: not pd.isna(v) and str(v).strip() != "")
            bad = (values.isna() & filled).to_numpy()
            if bad.any():
                raise InputError(
                    f"not a number: {raw[bad].iloc[0]!r}",
                    source=source,
                    column=col,
                    row=int(rows[bad][0]),
                )
        outside = ((values < -1e-9) | (values > 1 + 1e-9) | np.isinf(values)).to_numpy()
        if outside.any():
            raise InputError(
                f"pass rate {values[outside].iloc[0]:g} is outside [0, 1]",
                source=source,
                column=col,
                row=int(rows[outside][0]),
            )
        keep = values.notna().to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "benchmark": benchmark,
                    "item": items.to_numpy()[keep],
                    "model": col,
                    "score": values.to_numpy()[keep].clip(0.0, 1.0),
                    "samples": samples,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _samples_for(samples: int | Mapping[str, int], benchmark: str) -> int:
    value = samples.get(benchmark, 1) if isinstance(samples, Mapping) else samples
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"must be a whole number >= 1, got {value!r}", source="samples")
    return int(value)


def _guess_rates(
    benchmarks: PathLike | Mapping[str, float] | None, present: Sequence[str]
) -> dict[str, float]:
    if benchmarks is None:
        return {}
    if isinstance(benchmarks, Mapping):
        return guess_rates_from_mapping(benchmarks, present)
    return validate_benchmarks(read_table(benchmarks), present, source=str(benchmarks))


def read_wide(
    matrices: Mapping[str, TableLike],
    models: TableLike,
    *,
    samples: int | Mapping[str, int] = 1,
    benchmarks: PathLike | Mapping[str, float] | None = None,
    name: str | None = None,
    min_ladder_models: int = MIN_LADDER_MODELS,
) -> Ladder:
    """Read one wide item x model matrix per benchmark.

    Parameters
    ----------
    matrices : Mapping[str, path or DataFrame]
        Benchmark name -> matrix: first column the item id, one column per model, values pass
        rates in [0, 1] (blank = not evaluated).  Columns that are not in the models table are
        ignored, so a matrix may hold many unrelated models.
    models : path or DataFrame
        Models table (columns as for :func:`read_tidy`).  Every model must appear in at least
        one matrix.
    samples : int or Mapping[str, int], default 1
        Samples behind each pass rate, for all benchmarks or per benchmark (missing: 1).
    benchmarks : path or Mapping[str, float], optional
        Guess rates: a benchmarks table file or a mapping benchmark -> rate in [0, 1).
    name : str, optional
        Ladder label.
    min_ladder_models : int, default 3
        Fewest models with role ``ladder`` accepted.

    Returns
    -------
    Ladder

    Raises
    ------
    codbayes.errors.InputError
        Bad files, text or out-of-range pass rates (naming matrix file, model column and row),
        duplicate or blank item ids, matrices without items or without any known model, models
        found in no matrix, and everything :func:`read_tidy` checks.
    """
    if not matrices:
        raise InputError("no benchmark matrices given", source="matrices")
    raw_models, models_source = _table(models, "models")
    table = validate_models(raw_models, source=models_source, min_ladder_models=min_ladder_models)
    known = set(table.index)
    parts, seen = [], set()
    for bench, matrix in matrices.items():
        frame, source = _table(matrix, f"matrix {bench}")
        tidy = _wide_to_tidy(
            frame, str(bench), known, _samples_for(samples, str(bench)), source=source
        )
        seen.update(tidy["model"])
        parts.append(tidy)
    absent = [m for m in table.index if m not in seen]
    if absent:
        raise InputError(
            f"model {absent[0]!r} is in no benchmark matrix (check the spelling of the matrix "
            "column)",
            source=models_source,
            column="model",
        )
    results = pd.concat(parts, ignore_index=True)
    sources = ", ".join(
        str(m) if not isinstance(m, pd.DataFrame) else b for b, m in matrices.items()
    )
    ladder = Ladder.from_tidy(
        results,
        raw_models,
        results_source=sources,
        models_source=models_source,
        name=name,
        min_ladder_models=min_ladder_models,
    )
    return _with_guess_rates(ladder, _guess_rates(benchmarks, ladder.benchmark_names))


# ----------------------------------------------------------------------------- eval-arena
def eval_arena_dir(data_dir: PathLike | None = None) -> Path:
    """The Eval-Arena data folder: ``data_dir``, else ``$CODBAYES_EVAL_ARENA``, else the default."""
    if data_dir is not None:
        return Path(data_dir)
    return Path(os.environ.get(EVAL_ARENA_ENV, EVAL_ARENA_DEFAULT))


def eval_arena_benchmarks(data_dir: PathLike | None = None) -> list[str]:
    """Benchmarks available in an Eval-Arena folder (files ``<benchmark>_matrix.csv.gz``)."""
    folder = eval_arena_dir(data_dir)
    return sorted(p.name[: -len("_matrix.csv.gz")] for p in folder.glob("*_matrix.csv.gz"))


def _eval_arena_models(
    meta: pd.DataFrame,
    benchmarks: Sequence[str],
    models: str | Sequence[str],
    anchors: Sequence[str],
    *,
    source: str,
) -> pd.DataFrame:
    """The tidy models table of one family (or explicit models) from ``ladder_model_meta.csv``."""
    needed = {"source", "model", "family", "params_B", "tokens_T", "flops_6ND_1e21"}
    missing = sorted(needed - set(meta.columns))
    if missing:
        raise InputError("missing column", source=source, column=missing[0])
    keys = {EVAL_ARENA_META_SOURCE.get(b, b) for b in benchmarks}
    rows = meta[meta["source"].isin(keys)].drop_duplicates("model")
    if rows.empty:
        raise InputError(
            f"no model metadata for benchmark(s) {', '.join(benchmarks)}",
            source=source,
            column="source",
        )
    if isinstance(models, str):
        chosen = rows[rows["family"] == models]
        if chosen.empty:
            families = ", ".join(sorted(rows["family"].dropna().unique()))
            raise InputError(
                f"no family {models!r} for {', '.join(benchmarks)}; families: {families}",
                source=source,
                column="family",
            )
    else:
        wanted = list(models)
        unknown = [m for m in wanted if m not in set(rows["model"])]
        if unknown:
            raise InputError(
                f"model {unknown[0]!r} has no metadata for {', '.join(benchmarks)}",
                source=source,
                column="model",
            )
        chosen = rows.set_index("model").loc[wanted].reset_index()
    unknown_anchors = [a for a in anchors if a not in set(chosen["model"])]
    if unknown_anchors:
        raise InputError(
            f"anchor {unknown_anchors[0]!r} is not among the selected models", source="anchors"
        )
    params = pd.to_numeric(chosen["params_B"], errors="coerce").to_numpy() * 1e9
    tokens = pd.to_numeric(chosen["tokens_T"], errors="coerce").to_numpy() * 1e12
    flops = pd.to_numeric(chosen["flops_6ND_1e21"], errors="coerce").to_numpy() * 1e21
    table = pd.DataFrame(
        {
            "model": chosen["model"].astype(str).to_numpy(),
            "params": np.round(params),
            "tokens": np.round(tokens),
            # 6ND is the default: keep the meta's FLOPs only where tokens are unknown
            "flops": np.where(np.isnan(tokens), flops, np.nan),
            "role": ["anchor" if m in set(anchors) else "ladder" for m in chosen["model"]],
            "family": chosen["family"].astype(str).to_numpy(),
        }
    )
    no_compute = (
        (table["role"] == "ladder") & table["flops"].isna() & np.isnan(params * tokens)
    ).to_numpy()
    if no_compute.any():
        dropped = list(table["model"][no_compute])
        warnings.warn(
            f"{source}: dropping {', '.join(dropped)}: training tokens unknown, so no compute; "
            "pass them as anchors=[...] to keep them as anchors",
            UserWarning,
            stacklevel=3,
        )
        table = table[~no_compute].reset_index(drop=True)
        n_ladder = int((table["role"] == "ladder").sum())
        if n_ladder < MIN_LADDER_MODELS:
            raise InputError(
                f"only {n_ladder} model(s) with known compute; at least {MIN_LADDER_MODELS} are "
                f"needed (no tokens for {', '.join(dropped)})",
                source=source,
                column="tokens_T",
            )
    return table


def read_eval_arena(
    benchmark: str | Sequence[str],
    models: str | Sequence[str],
    *,
    anchors: Sequence[str] = (),
    data_dir: PathLike | None = None,
    name: str | None = None,
) -> Ladder:
    """Read a model ladder from the Eval-Arena matrices and ``ladder_model_meta.csv``.

    Parameters
    ----------
    benchmark : str or sequence of str
        ``humaneval_hf``, ``humaneval+``, ``mbpp+``, ``cruxeval_input``, ``cruxeval_output``,
        ``lcb_codegen`` (files ``<benchmark>_matrix.csv.gz``), or several of them.
    models : str or sequence of str
        A family of ``ladder_model_meta.csv`` (e.g. ``"Qwen1.5"``) or explicit model names.
    anchors : sequence of str, optional
        Models to keep with role ``anchor``; they need no compute.
    data_dir : path, optional
        The folder (default ``$CODBAYES_EVAL_ARENA`` or ``/work/shared/data/eval_arena``).
    name : str, optional
        Ladder label (default ``"<family or models> on <benchmarks>"``).

    Returns
    -------
    Ladder
        ``params = params_B * 1e9``, ``tokens = tokens_T * 1e12``, ``flops = 6 * params *
        tokens`` (or ``flops_6ND_1e21 * 1e21`` when only that is known).  Samples per pass rate:
        1 for the greedy benchmarks (HumanEval, HumanEval+, MBPP+), 10 for CRUXEval and
        LiveCodeBench.

    Warns
    -----
    UserWarning
        Models without compute (unknown training tokens, e.g. Qwen1.5-110B) that are not listed
        in ``anchors`` are dropped, with a warning naming them.

    Raises
    ------
    codbayes.errors.InputError
        Unknown benchmark, family or model; missing files; fewer than 3 models with compute.
    """
    folder = eval_arena_dir(data_dir)
    benches = [benchmark] if isinstance(benchmark, str) else list(benchmark)
    available = eval_arena_benchmarks(folder)
    for b in benches:
        if b not in available:
            raise InputError(
                f"unknown benchmark {b!r}; available: {', '.join(available) or 'none'}",
                source=str(folder),
            )
    meta_path = folder / EVAL_ARENA_META
    meta_source = str(meta_path)
    meta = read_table(meta_path)
    table = _eval_arena_models(meta, benches, models, list(anchors), source=meta_source)
    matrices = {b: folder / f"{b}_matrix.csv.gz" for b in benches}
    label = models if isinstance(models, str) else "+".join(models)
    return read_wide(
        matrices,
        table,
        samples={b: EVAL_ARENA_SAMPLES.get(b, 1) for b in benches},
        name=name or f"{label} on {', '.join(benches)} (Eval-Arena)",
    )


# ----------------------------------------------------------------------------- lm-eval
def _latest(files: Sequence[Path]) -> Path:
    """The file with the latest timestamp suffix (``..._<ISO timestamp>.json[l]``)."""
    return max(files, key=lambda p: (p.stem.rpartition("_")[2], p.name))


def _lm_eval_task(path: Path) -> str:
    """Task name of ``samples_<task>_<timestamp>.jsonl`` (as the harness parses it)."""
    stem = path.name[: -len(".jsonl")]
    return stem[len("samples_") : stem.rfind("_")]


def _load_json(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read file: {_first_line(err)}", source=str(path)) from None
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON: {err.msg}", source=str(path), row=err.lineno) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", source=str(path))
    return data


def _lm_eval_model_name(results: dict | None, folder: Path) -> str:
    """Model name: ``model_name`` of the results JSON, else ``pretrained=``/``model=`` of
    ``config.model_args``, else the folder name."""
    if results:
        name = results.get("model_name")
        if isinstance(name, str) and name.strip():
            return name.strip()
        args = (results.get("config") or {}).get("model_args")
        if isinstance(args, str):
            for part in args.split(","):
                key, _, value = part.partition("=")
                if key.strip() in ("pretrained", "model", "path", "engine") and value.strip():
                    return value.strip()
        elif isinstance(args, Mapping):
            for key in ("pretrained", "model", "path", "engine"):
                if isinstance(args.get(key), str) and args[key].strip():
                    return args[key].strip()
    return folder.name


def _score_value(value: object) -> float | None:
    """A per-item metric value as a float, or None if it is not a scalar number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _choose_metric(record: dict, metric: str | None, *, source: str, row: int) -> str:
    if metric is not None:
        if metric not in record:
            found = [m for m in record.get("metrics", []) if isinstance(m, str)] or [
                k for k in record if _score_value(record[k]) is not None and k != "doc_id"
            ]
            raise InputError(
                f"no metric {metric!r} in the sample log; found {', '.join(found) or 'none'}",
                source=source,
                column=metric,
                row=row,
            )
        return metric
    for name in LM_EVAL_METRICS:
        if name in record and _score_value(record[name]) is not None:
            return name
    for name in record.get("metrics", []) or []:
        if isinstance(name, str) and _score_value(record.get(name)) is not None:
            return name
    raise InputError(
        "cannot tell which per-item metric to use; pass metric=...",
        source=source,
        row=row,
    )


def _detect_samples(record: dict, config: Mapping | None) -> int:
    """Repeats behind a sample's metric: the task config's ``repeats`` when the filter kept all
    of them (``filtered_resps[0]`` is a list of that length), else 1."""
    repeats = (config or {}).get("repeats", 1)
    if not isinstance(repeats, int) or repeats <= 1:
        return 1
    resps = record.get("filtered_resps")
    if isinstance(resps, list) and resps and isinstance(resps[0], list):
        if len(resps[0]) == repeats:
            return repeats
    return 1


def _read_samples_file(
    path: Path,
    task: str,
    model: str,
    *,
    metric: str | None,
    filter_name: str | None,
    strict_filter: bool,
    samples: int | None,
    config: Mapping | None,
) -> pd.DataFrame:
    """One ``samples_<task>_<timestamp>.jsonl`` -> tidy rows (benchmark = task, item = doc_id)."""
    source = str(path)
    records: list[tuple[int, dict]] = []
    try:
        with path.open(encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as err:
                    raise InputError(
                        f"not valid JSON: {err.msg}", source=source, row=line_no
                    ) from None
                if not isinstance(rec, dict):
                    raise InputError("expected a JSON object", source=source, row=line_no)
                records.append((line_no, rec))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read file: {_first_line(err)}", source=source) from None
    if not records:
        raise InputError("the file is empty (no samples)", source=source)
    filters = list(dict.fromkeys(str(rec.get("filter", "none")) for _, rec in records))
    if filter_name is not None and (strict_filter or filter_name in filters):
        if filter_name not in filters:
            raise InputError(
                f"no filter {filter_name!r}; found {', '.join(filters)}",
                source=source,
                column="filter",
            )
        chosen_filter = filter_name
    else:
        chosen_filter = "none" if "none" in filters else filters[0]
    records = [(n, r) for n, r in records if str(r.get("filter", "none")) == chosen_filter]
    first_line, first = records[0]
    name = _choose_metric(first, metric, source=source, row=first_line)

    items, scores, counts, lines = [], [], [], []
    for line_no, rec in records:
        if "doc_id" not in rec:
            raise InputError("missing field", source=source, column="doc_id", row=line_no)
        if name not in rec:
            raise InputError("missing metric", source=source, column=name, row=line_no)
        value = _score_value(rec[name])
        if value is None or not math.isfinite(value):
            raise InputError(
                f"metric value {rec[name]!r} is not a per-item number; choose another metric",
                source=source,
                column=name,
                row=line_no,
            )
        if not -1e-9 <= value <= 1 + 1e-9:
            raise InputError(
                f"score {value:g} is outside [0, 1]; choose a pass-rate metric",
                source=source,
                column=name,
                row=line_no,
            )
        items.append(str(rec["doc_id"]))
        scores.append(min(max(value, 0.0), 1.0))
        counts.append(samples if samples is not None else _detect_samples(rec, config))
        lines.append(line_no)
    frame = pd.DataFrame(
        {"benchmark": task, "item": items, "model": model, "score": scores, "samples": counts}
    )
    dup = frame["item"].duplicated().to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"duplicate doc_id {items[pos]} for filter {chosen_filter!r}",
            source=source,
            column="doc_id",
            row=lines[pos],
        )
    return frame


def _lm_eval_samples(samples: int | Mapping[str, int] | None, task: str) -> int | None:
    """Samples given for ``task``, or None to detect them from the log."""
    if samples is None or (isinstance(samples, Mapping) and task not in samples):
        return None
    return _samples_for(samples, task)


def _lm_eval_runs(
    runs: Mapping[str, PathLike] | Sequence[PathLike],
) -> list[tuple[str | None, Path]]:
    if isinstance(runs, (str, os.PathLike)):
        runs = [runs]
    if isinstance(runs, Mapping):
        return [(str(m), Path(p)) for m, p in runs.items()]
    return [(None, Path(p)) for p in runs]


def read_lm_eval(
    runs: Mapping[str, PathLike] | Sequence[PathLike],
    models: TableLike,
    *,
    tasks: Sequence[str] | None = None,
    metric: str | Mapping[str, str] | None = None,
    filter: str | Mapping[str, str] | None = None,
    samples: int | Mapping[str, int] | None = None,
    benchmarks: PathLike | Mapping[str, float] | None = None,
    name: str | None = None,
    min_ladder_models: int = MIN_LADDER_MODELS,
) -> Ladder:
    """Read ``lm-evaluation-harness`` output written with ``--log_samples``.

    Each model has one folder (the harness's ``<output_path>/<model>/``) holding
    ``results_<timestamp>.json`` and one ``samples_<task>_<timestamp>.jsonl`` per task, one JSON
    object per line with ``doc_id``, ``doc``, ``target``, ``arguments``, ``resps``,
    ``filtered_resps``, ``filter``, ``metrics`` and the per-item metric values (``acc``,
    ``exact_match``, ``pass@1``, ...).  When a task was run several times, the latest file (by
    timestamp) is used.

    Parameters
    ----------
    runs : Mapping[str, path] or sequence of paths
        Model name -> folder, or folders whose model name is taken from the latest
        ``results_*.json``: its ``model_name``, else ``pretrained=`` (or ``model=``, ``path=``,
        ``engine=``) in ``config.model_args``, else the folder name.
    models : path or DataFrame
        Models table (as for :func:`read_tidy`) using those model names.
    tasks : sequence of str, optional
        Tasks to read (default: every task found).  Benchmark name = task name.
    metric : str or Mapping[str, str], optional
        Per-item metric (for all tasks or per task).  Default: the first of ``acc``,
        ``exact_match``, ``pass@1``, ``pass_at_1``, ``acc_norm``, ``em``, ``mc2``, ``f1`` present
        in the log, else the first numeric entry of the sample's ``metrics`` list.  Values must
        be per-item numbers in [0, 1] (booleans count as 0/1).
    filter : str or Mapping[str, str], optional
        Filter whose lines to read (tasks such as gsm8k log one line per doc and filter).  A
        single name applies to the tasks that log it (the others use the default); a mapping
        task -> filter is strict.  Default: ``"none"`` if present, else the first filter in the
        file.
    samples : int or Mapping[str, int], optional
        Samples behind each score.  Default: the task's ``repeats`` (from ``configs`` in the
        results JSON) when the filter kept every repeat, else 1.
    benchmarks : path or Mapping[str, float], optional
        Guess rates (benchmarks table file or mapping task -> rate in [0, 1)).
    name : str, optional
        Ladder label.
    min_ladder_models : int, default 3
        Fewest models with role ``ladder`` accepted.

    Returns
    -------
    Ladder
        Items are ``doc_id`` values (as text).

    Raises
    ------
    codbayes.errors.InputError
        Missing folders or sample files, invalid JSON (naming file and line), missing or
        non-numeric metrics, scores outside [0, 1], duplicate ``doc_id``, models missing from
        the models table, requested tasks found nowhere.
    """
    raw_models, models_source = _table(models, "models")
    table = validate_models(raw_models, source=models_source, min_ladder_models=min_ladder_models)
    wanted = None if tasks is None else {str(t) for t in tasks}
    parts, found_tasks = [], set()
    for given_name, folder in _lm_eval_runs(runs):
        if not folder.is_dir():
            raise InputError("folder not found (one folder per model)", source=str(folder))
        results_files = sorted(folder.glob("results_*.json"))
        results = _load_json(_latest(results_files)) if results_files else None
        model = given_name or _lm_eval_model_name(results, folder)
        if model not in table.index:
            raise InputError(
                f"model {model!r} is not in the models table {models_source}",
                source=str(folder),
            )
        by_task: dict[str, list[Path]] = {}
        for path in folder.glob("samples_*.jsonl"):
            by_task.setdefault(_lm_eval_task(path), []).append(path)
        if not by_task:
            raise InputError(
                "no samples_<task>_<timestamp>.jsonl files (run lm_eval with --log_samples)",
                source=str(folder),
            )
        configs = (results or {}).get("configs") or {}
        for task in sorted(by_task):
            if wanted is not None and task not in wanted:
                continue
            found_tasks.add(task)
            parts.append(
                _read_samples_file(
                    _latest(by_task[task]),
                    task,
                    model,
                    metric=metric.get(task) if isinstance(metric, Mapping) else metric,
                    filter_name=filter.get(task) if isinstance(filter, Mapping) else filter,
                    strict_filter=isinstance(filter, Mapping),
                    samples=_lm_eval_samples(samples, task),
                    config=configs.get(task),
                )
            )
    if wanted is not None and wanted - found_tasks:
        missing = sorted(wanted - found_tasks)
        raise InputError(f"task {missing[0]!r} found in no model folder", source="tasks")
    if not parts:
        raise InputError("no lm-eval results found", source="runs")
    results_frame = pd.concat(parts, ignore_index=True)
    ladder = Ladder.from_tidy(
        results_frame,
        raw_models,
        results_source="lm-eval samples",
        models_source=models_source,
        name=name,
        min_ladder_models=min_ladder_models,
    )
    return _with_guess_rates(ladder, _guess_rates(benchmarks, ladder.benchmark_names))
