"""Writers: a :class:`~codbayes.data.ladder.Ladder` -> the tidy file contract.

Files are written atomically: each table goes to a temporary file in the target folder, and only
when every table is written are they moved into place with :func:`os.replace`.  A failure leaves
no partial file behind.  Read the files back with :func:`codbayes.data.readers.read_tidy`.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from codbayes.data.ladder import MODEL_COLUMNS, RESULT_COLUMNS, Ladder
from codbayes.errors import InputError

PathLike = str | os.PathLike

__all__ = ["ladder_to_tables", "write_tidy"]


def ladder_to_tables(ladder: Ladder) -> dict[str, pd.DataFrame]:
    """The tidy tables of a ladder.

    Parameters
    ----------
    ladder : Ladder

    Returns
    -------
    dict[str, pandas.DataFrame]
        ``results`` (``benchmark, item, model, score, samples``; one row per evaluated cell,
        by benchmark, item and compute order), ``models`` (``model, params, tokens, flops, role,
        family``) and ``benchmarks`` (``benchmark, guess_rate``; blank if unknown).
    """
    parts = []
    for bench, res in ladder.benchmarks.items():
        scores = res.scores.stack(future_stack=True).rename("score")
        samples = res.samples.stack(future_stack=True).rename("samples")
        frame = pd.concat([scores, samples], axis=1).dropna(subset=["score"])
        frame.index = frame.index.set_names(["item", "model"])
        frame = frame.reset_index()
        frame.insert(0, "benchmark", bench)
        parts.append(frame)
    if parts:
        results = pd.concat(parts, ignore_index=True)
    else:
        results = pd.DataFrame(columns=list(RESULT_COLUMNS))
    results = results[list(RESULT_COLUMNS)].astype({"score": float, "samples": "int64"})
    models = ladder.models.reset_index()[list(MODEL_COLUMNS)]
    benchmarks = pd.DataFrame(
        {
            "benchmark": list(ladder.benchmarks),
            "guess_rate": [
                float("nan") if r.guess_rate is None else float(r.guess_rate)
                for r in ladder.benchmarks.values()
            ],
        }
    )
    return {"results": results, "models": models, "benchmarks": benchmarks}


def _writer(path: Path) -> Callable[[pd.DataFrame, Path], None]:
    """A function writing a table to a (temporary) file in the format of ``path``."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):

        def write(frame: pd.DataFrame, target: Path) -> None:
            try:
                frame.to_parquet(target, index=False)
            except ImportError:
                raise InputError(
                    "writing Parquet needs pyarrow: pip install 'codbayes[parquet]'",
                    source=str(path),
                ) from None

        return write
    if name.endswith(".gz"):

        def write(frame: pd.DataFrame, target: Path) -> None:
            # gzip by hand: no file name and a zero time stamp in the header, so the same table
            # always gives the same bytes
            text = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
            with target.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as fh:
                fh.write(text)

        return write
    compression = None
    for suffix, method in ((".bz2", "bz2"), (".xz", "xz"), (".zst", "zstd"), (".zip", "zip")):
        if name.endswith(suffix):
            compression = method

    def write(frame: pd.DataFrame, target: Path) -> None:
        frame.to_csv(target, index=False, compression=compression, lineterminator="\n")

    return write


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_tidy(
    ladder: Ladder,
    results_path: PathLike,
    models_path: PathLike,
    benchmarks_path: PathLike | None = None,
) -> None:
    """Write a ladder as tidy results, models and (optionally) benchmarks tables.

    The format follows each file's extension: ``.parquet``/``.pq`` is Parquet, anything else CSV
    (compressed for ``.gz``, ``.bz2``, ``.xz``, ``.zst``, ``.zip``).  Floats are written with full
    precision, so :func:`~codbayes.data.readers.read_tidy` gives back the same ladder.

    Parameters
    ----------
    ladder : Ladder
    results_path, models_path : str or os.PathLike
        Targets of the results and models tables.
    benchmarks_path : str or os.PathLike, optional
        Target of the benchmarks table (guess rates); not written if None.

    Raises
    ------
    codbayes.errors.InputError
        A target folder does not exist, or Parquet is asked for without pyarrow.
    """
    tables = ladder_to_tables(ladder)
    targets = {"results": results_path, "models": models_path, "benchmarks": benchmarks_path}
    jobs = [(Path(p), tables[k]) for k, p in targets.items() if p is not None]
    for path, _ in jobs:
        if not path.parent.is_dir():
            raise InputError("folder does not exist", source=str(path))
    written: list[tuple[Path, Path]] = []
    try:
        for path, frame in jobs:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            written.append((Path(tmp), path))
            _writer(path)(frame, Path(tmp))
            os.chmod(tmp, 0o666 & ~_umask())
        for tmp, path in written:
            os.replace(tmp, path)
    finally:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)
