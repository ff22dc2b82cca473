"""Validation of the tidy input tables (the file contract of ``codbayes``).

Every function here takes a raw table (as read from a file, every cell possibly text) and either
returns a clean, typed table or raises :class:`~codbayes.errors.InputError` with a one-line
message naming the file, the column and an example row.

Row numbers
-----------
Rows are numbered like the lines of a CSV file whose header is line 1: the first data row is
**row 2**.  The readers in :mod:`codbayes.data.readers` keep blank lines in the count, so the
number is the line to open in an editor.  For Parquet files and in-memory tables the same rule is
applied to the row position (first row = 2); a table with an integer index is numbered by its
index label (``label + 2``), so a filtered frame still points at its original rows.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from codbayes.data.ladder import MIN_LADDER_MODELS, RESULT_COLUMNS, ROLES
from codbayes.errors import InputError

if TYPE_CHECKING:
    from codbayes.data.ladder import Ladder

MODEL_REQUIRED = ("model", "params", "tokens")
MODEL_OPTIONAL = ("flops", "role", "family")
RESULT_REQUIRED = ("benchmark", "item", "model", "score")
RESULT_OPTIONAL = ("samples",)
BENCHMARK_REQUIRED = ("benchmark", "guess_rate")
DEFAULT_ROLE = "ladder"
SCORE_TOLERANCE = 1e-9
"""Scores this far outside [0, 1] (float round-off) are clipped instead of rejected."""

__all__ = [
    "check_columns",
    "check_ladder_size",
    "check_unique",
    "number_column",
    "row_error",
    "row_numbers",
    "text_column",
    "validate_benchmarks",
    "validate_models",
    "validate_results",
]


# ------------------------------------------------------- table-checking toolkit (every reader)
def row_numbers(df: pd.DataFrame) -> np.ndarray:
    """Row numbers used in error messages (header = line 1, first data row = 2).

    Parameters
    ----------
    df : pandas.DataFrame
        A raw table; readers give it an integer index counting data lines from 0.

    Returns
    -------
    numpy.ndarray
        One int per row: ``index + 2`` for an integer index, else ``position + 2``.
    """
    if pd.api.types.is_integer_dtype(df.index.dtype):
        return np.asarray(df.index, dtype=np.int64) + 2
    return np.arange(len(df), dtype=np.int64) + 2


def row_error(
    message: str, *, source: str, column: str | None, rows: np.ndarray, mask: np.ndarray
) -> InputError:
    """An error at the first row flagged by ``mask``, counting the other offending rows."""
    mask = np.asarray(mask, dtype=bool)
    first = int(np.flatnonzero(mask)[0])
    more = int(mask.sum()) - 1
    if more:
        message = f"{message} (and {more} more row{'s' if more > 1 else ''})"
    return InputError(message, source=source, column=column, row=int(rows[first]))


def _describe_columns(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def check_columns(
    df: pd.DataFrame,
    *,
    source: str,
    required: tuple[str, ...],
    optional: tuple[str, ...],
) -> pd.DataFrame:
    """Check the table is non-empty and has exactly the allowed columns (names stripped)."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a table, got {type(df).__name__}", source=source)
    if df.shape[1] == 0:
        raise InputError("the file is empty (no header line)", source=source)
    frame = df.rename(columns=lambda c: str(c).strip())
    columns = list(frame.columns)
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(
            f"missing column{'s' if len(missing) > 1 else ''} {_describe_columns(missing)}; "
            f"expected {_describe_columns(required)}"
            + (f" and optionally {_describe_columns(optional)}" if optional else "")
            + f"; found {_describe_columns(columns)}",
            source=source,
            column=missing[0],
        )
    allowed = set(required) | set(optional)
    extra = [c for c in columns if c not in allowed]
    if extra:
        shown = [
            f"(blank header, column {columns.index(c) + 1})" if c.startswith("Unnamed: ") else c
            for c in extra
        ]
        raise InputError(
            f"unexpected column{'s' if len(extra) > 1 else ''} {_describe_columns(shown)}; "
            f"allowed columns are {_describe_columns(required + optional)}",
            source=source,
            column=shown[0],
        )
    duplicated = [c for c in set(columns) if columns.count(c) > 1]
    if duplicated:
        raise InputError("column appears more than once", source=source, column=duplicated[0])
    if len(frame) == 0:
        raise InputError("no data rows (only a header)", source=source)
    return frame


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value).strip() or None


def text_column(
    frame: pd.DataFrame, column: str, *, source: str, rows: np.ndarray, required: bool
) -> pd.Series:
    """A column as stripped text (``str`` dtype), blank cells missing; rejected if ``required``."""
    raw = frame[column]
    if not isinstance(raw.dtype, pd.StringDtype):
        if pd.api.types.infer_dtype(raw, skipna=True) not in ("string", "empty"):
            raw = pd.Series([_cell_text(v) for v in raw.tolist()], index=frame.index, dtype=object)
        raw = raw.astype("str")
    values = raw.str.strip()
    blank = (values.isna() | (values == "")).to_numpy(dtype=bool)
    values = values.mask(blank)
    if required and blank.any():
        raise row_error("blank cell", source=source, column=column, rows=rows, mask=blank)
    return values


def number_column(
    frame: pd.DataFrame,
    column: str,
    *,
    source: str,
    rows: np.ndarray,
    required: bool,
    positive: bool = False,
) -> pd.Series:
    """A column as finite floats, blank cells as NaN; text or non-finite values rejected."""
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw.dtype):
        raw = raw.astype(float)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.astype(float)
        blank = values.isna().to_numpy()
        bad = np.zeros(len(values), dtype=bool)
    else:
        text = text_column(frame, column, source=source, rows=rows, required=False)
        values = pd.to_numeric(text, errors="coerce").astype(float)
        blank = text.isna().to_numpy()
        bad = values.isna().to_numpy() & ~blank
    if required and blank.any():
        raise row_error("blank cell", source=source, column=column, rows=rows, mask=blank)
    if bad.any():
        example = text[bad].iloc[0]
        raise row_error(
            f"not a number: {example!r}", source=source, column=column, rows=rows, mask=bad
        )
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        raise row_error(
            "not a finite number", source=source, column=column, rows=rows, mask=infinite
        )
    if positive:
        nonpositive = (values <= 0).to_numpy()
        if nonpositive.any():
            example = values[nonpositive].iloc[0]
            raise row_error(
                f"must be positive, got {example:g}",
                source=source,
                column=column,
                rows=rows,
                mask=nonpositive,
            )
    return values


def check_unique(keys: pd.DataFrame, *, source: str, column: str, rows: np.ndarray, what: str):
    """Raise if a key repeats, naming the later row and the first one."""
    dup = keys.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    later = keys.duplicated(keep="first").to_numpy()
    pos = int(np.flatnonzero(later)[0])
    key = tuple(keys.iloc[pos])
    same = (keys == keys.iloc[pos]).all(axis=1).to_numpy()
    first = int(rows[int(np.flatnonzero(same)[0])])
    shown = key[0] if len(key) == 1 else ", ".join(map(str, key))
    raise row_error(
        f"duplicate {what} ({shown}): already on row {first}",
        source=source,
        column=column,
        rows=rows,
        mask=later,
    )


# ----------------------------------------------------------------------------- models
def validate_models(
    df: pd.DataFrame, *, source: str = "models", min_ladder_models: int = MIN_LADDER_MODELS
) -> pd.DataFrame:
    """Validate a models table and return it clean and typed.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``model, params, tokens`` and optionally ``flops``, ``role``, ``family``; no others.
        ``params`` and ``tokens`` are raw counts (``5e8``, ``2.4e12``); cells may be blank when
        ``flops`` is given or for anchors.
    source : str, default "models"
        The file name used in error messages.
    min_ladder_models : int, default 3
        Fewest models with role ``ladder`` accepted.

    Returns
    -------
    pandas.DataFrame
        Index ``model``; columns exactly ``params, tokens, flops`` (float), ``role`` (str,
        ``"ladder"`` or ``"anchor"``) and ``family`` (str or None).  ``flops`` defaults to
        ``6 * params * tokens``; anchors may have no compute (NaN).  Sorted by ``flops``
        ascending, models without compute last, ties in file order.

    Raises
    ------
    codbayes.errors.InputError
        Missing or unexpected columns, no rows, blank model names, text or non-positive numbers,
        unknown roles, duplicate models, ladder models without compute, too few ladder models.
    """
    frame = check_columns(df, source=source, required=MODEL_REQUIRED, optional=MODEL_OPTIONAL)
    rows = row_numbers(frame)
    model = text_column(frame, "model", source=source, rows=rows, required=True)
    params = number_column(frame, "params", source=source, rows=rows, required=False, positive=True)
    tokens = number_column(frame, "tokens", source=source, rows=rows, required=False, positive=True)
    if "flops" in frame.columns:
        flops = number_column(
            frame, "flops", source=source, rows=rows, required=False, positive=True
        )
    else:
        flops = pd.Series(np.nan, index=frame.index)
    if "role" in frame.columns:
        role = text_column(frame, "role", source=source, rows=rows, required=False)
        role = role.str.lower().fillna(DEFAULT_ROLE)
        unknown = (~role.isin(ROLES)).to_numpy()
        if unknown.any():
            raise row_error(
                f"unknown role {role[unknown].iloc[0]!r}; use 'ladder' or 'anchor'",
                source=source,
                column="role",
                rows=rows,
                mask=unknown,
            )
    else:
        role = pd.Series(DEFAULT_ROLE, index=frame.index, dtype=object)
    if "family" in frame.columns:
        family = text_column(frame, "family", source=source, rows=rows, required=False)
    else:
        family = pd.Series(None, index=frame.index, dtype=object)

    check_unique(model.to_frame(), source=source, column="model", rows=rows, what="model")

    flops = flops.fillna(6.0 * params * tokens)
    no_compute = (flops.isna() & (role == "ladder")).to_numpy()
    if no_compute.any():
        name = model[no_compute].iloc[0]
        raise row_error(
            f"ladder model {name!r} has no training compute: give 'flops', or both 'params' "
            "and 'tokens' (or set its role to 'anchor')",
            source=source,
            column="flops" if "flops" in frame.columns else "tokens",
            rows=rows,
            mask=no_compute,
        )

    index = pd.Index(model.tolist(), name="model", dtype=object)
    out = pd.DataFrame(
        {
            "params": params.to_numpy(dtype=float),
            "tokens": tokens.to_numpy(dtype=float),
            "flops": flops.to_numpy(dtype=float),
            "role": pd.Series(role.tolist(), index=index, dtype=str),
            "family": pd.Series(
                [f if isinstance(f, str) else None for f in family.tolist()],
                index=index,
                dtype=object,
            ),
        },
        index=index,
    )
    out = out.sort_values("flops", kind="stable", na_position="last")
    _check_count(list(out.index[out["role"] == "ladder"]), source, min_ladder_models)
    return out


def _check_count(ladder: list[str], source: str, min_ladder_models: int) -> None:
    if len(ladder) < min_ladder_models:
        names = ", ".join(ladder) if ladder else "none"
        raise InputError(
            f"only {len(ladder)} ladder model(s) ({names}); at least {min_ladder_models} with "
            "role 'ladder' and known compute are needed to fit a scaling law",
            source=source,
            column="role",
        )


def check_ladder_size(
    ladder: Ladder, *, source: str = "models", min_ladder_models: int = MIN_LADDER_MODELS
) -> None:
    """Raise if ``ladder`` has fewer than ``min_ladder_models`` models with role ``ladder``.

    Parameters
    ----------
    ladder : Ladder
        A ladder, e.g. after :meth:`Ladder.with_roles` turned some models into anchors.
    source : str, default "models"
        The file named in the error message.
    min_ladder_models : int, default 3
        Fewest ladder models accepted.

    Raises
    ------
    codbayes.errors.InputError
        Too few ladder models.
    """
    _check_count(list(ladder.ladder_models), source, min_ladder_models)


# ----------------------------------------------------------------------------- results
def _model_names(models: pd.DataFrame | Collection[str]) -> set[str]:
    if isinstance(models, pd.DataFrame):
        if "model" in models.columns:
            return {str(m) for m in models["model"]}
        return {str(m) for m in models.index}
    return {str(m) for m in models}


def validate_results(
    df: pd.DataFrame,
    models: pd.DataFrame | Collection[str],
    *,
    source: str = "results",
    models_source: str = "models",
) -> pd.DataFrame:
    """Validate a tidy results table and return it clean and typed.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``benchmark, item, model, score`` and optionally ``samples``; no others.  One row
        per (benchmark, item, model); ``score`` is a pass rate in [0, 1], ``samples`` the number of
        samples behind it (an integer >= 1, default 1).  Missing results are absent rows.
    models : pandas.DataFrame or collection of str
        The validated models table (index ``model``) or the known model names.
    source : str, default "results"
        The file name used in error messages.
    models_source : str, default "models"
        The models file, named when a result refers to an unknown model.

    Returns
    -------
    pandas.DataFrame
        Exactly the columns ``benchmark, item, model`` (str), ``score`` (float in [0, 1]) and
        ``samples`` (int64), in file order, with a fresh range index.

    Raises
    ------
    codbayes.errors.InputError
        Missing or unexpected columns, no rows, blank or non-numeric cells, scores outside
        [0, 1], samples below 1 or not whole, duplicate (benchmark, item, model) rows, unknown
        models.
    """
    frame = check_columns(df, source=source, required=RESULT_REQUIRED, optional=RESULT_OPTIONAL)
    rows = row_numbers(frame)
    bench = text_column(frame, "benchmark", source=source, rows=rows, required=True)
    item = text_column(frame, "item", source=source, rows=rows, required=True)
    model = text_column(frame, "model", source=source, rows=rows, required=True)
    score = number_column(frame, "score", source=source, rows=rows, required=True)
    outside = ((score < -SCORE_TOLERANCE) | (score > 1 + SCORE_TOLERANCE)).to_numpy()
    if outside.any():
        raise row_error(
            f"score {score[outside].iloc[0]:g} is outside [0, 1] (scores are pass rates)",
            source=source,
            column="score",
            rows=rows,
            mask=outside,
        )
    score = score.clip(0.0, 1.0)
    if "samples" in frame.columns:
        samples = number_column(frame, "samples", source=source, rows=rows, required=True)
        bad = ((samples < 1) | (samples != np.round(samples))).to_numpy()
        if bad.any():
            raise row_error(
                f"samples must be a whole number >= 1, got {samples[bad].iloc[0]:g}",
                source=source,
                column="samples",
                rows=rows,
                mask=bad,
            )
        samples = samples.astype(np.int64)
    else:
        samples = pd.Series(1, index=frame.index, dtype=np.int64)

    known = _model_names(models)
    unknown = (~model.isin(known)).to_numpy()
    if unknown.any():
        raise row_error(
            f"unknown model {model[unknown].iloc[0]!r}: not in the models table {models_source}",
            source=source,
            column="model",
            rows=rows,
            mask=unknown,
        )
    keys = pd.DataFrame({"benchmark": bench, "item": item, "model": model})
    check_unique(
        keys, source=source, column="item", rows=rows, what="result for benchmark, item, model"
    )

    return pd.DataFrame(
        {
            "benchmark": bench.to_numpy(dtype=object),
            "item": item.to_numpy(dtype=object),
            "model": model.to_numpy(dtype=object),
            "score": score.to_numpy(dtype=float),
            "samples": samples.to_numpy(dtype=np.int64),
        },
        columns=list(RESULT_COLUMNS),
    ).astype({"benchmark": str, "item": str, "model": str})


# ----------------------------------------------------------------------------- benchmarks
def validate_benchmarks(
    df: pd.DataFrame, benchmarks: Collection[str], *, source: str = "benchmarks"
) -> dict[str, float]:
    """Validate a benchmarks table and return the known guess rates.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``benchmark, guess_rate``; one row per benchmark.  ``guess_rate`` is the
        random-guess accuracy in [0, 1) (e.g. 0.25 for 4-way multiple choice); blank if unknown.
    benchmarks : collection of str
        The benchmarks present in the results; every listed benchmark must be one of them.
    source : str, default "benchmarks"
        The file name used in error messages.

    Returns
    -------
    dict[str, float]
        Guess rate per benchmark (benchmarks with a blank guess rate are left out).

    Raises
    ------
    codbayes.errors.InputError
        Missing or unexpected columns, no rows, duplicates, guess rates outside [0, 1), text,
        and benchmarks that have no items in the results.
    """
    frame = check_columns(df, source=source, required=BENCHMARK_REQUIRED, optional=())
    rows = row_numbers(frame)
    bench = text_column(frame, "benchmark", source=source, rows=rows, required=True)
    rate = number_column(frame, "guess_rate", source=source, rows=rows, required=False)
    outside = ((rate < 0) | (rate >= 1)).to_numpy()
    if outside.any():
        raise row_error(
            f"guess rate {rate[outside].iloc[0]:g} is outside [0, 1)",
            source=source,
            column="guess_rate",
            rows=rows,
            mask=outside,
        )
    check_unique(bench.to_frame(), source=source, column="benchmark", rows=rows, what="benchmark")
    present = {str(b) for b in benchmarks}
    absent = (~bench.isin(present)).to_numpy()
    if absent.any():
        raise row_error(
            f"benchmark {bench[absent].iloc[0]!r} has no items in the results",
            source=source,
            column="benchmark",
            rows=rows,
            mask=absent,
        )
    return {str(b): float(r) for b, r in zip(bench, rate, strict=True) if not math.isnan(r)}


def guess_rates_from_mapping(
    rates: Mapping[str, float] | None, benchmarks: Collection[str], *, source: str = "guess_rates"
) -> dict[str, float]:
    """Validate guess rates given as a mapping (same rules as :func:`validate_benchmarks`)."""
    if not rates:
        return {}
    frame = pd.DataFrame({"benchmark": list(rates), "guess_rate": list(rates.values())})
    return validate_benchmarks(frame, benchmarks, source=source)
