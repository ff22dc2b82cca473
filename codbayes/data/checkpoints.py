"""Per-checkpoint losses and scores: the optional input of the loss-intermediate methods.

FLP and FLP-M (Chen et al., arXiv 2410.08527) and the AI2 model ladder (Bhagia et al., arXiv
2412.04403) predict a benchmark score through a *loss*: compute -> loss on fully trained ladder
models, then loss -> score on intermediate checkpoints.  They need what item-level results do not
carry, so a :class:`~codbayes.data.ladder.Ladder` may hold an optional ``checkpoints`` table next
to its models table.

Schema
------
Tidy, one row per (model, checkpoint, benchmark):

==================  ========  ==============================================================
column              type      meaning
==================  ========  ==============================================================
``model``           str       a model of the ladder's models table
``step``            int       training step of the checkpoint (>= 0)
``tokens``          float     training tokens seen at the checkpoint (>= 0)
``flops``           float     training compute at the checkpoint (>= 0); optional on input,
                              default ``tokens`` x the model's compute per token
                              (``models.flops / models.tokens``)
``benchmark``       str       benchmark name
``score``           float     the benchmark score of the checkpoint, in [0, 1]
``loss``            float     optional: the benchmark's own *task loss* (> 0), e.g. bits per
                              byte of the correct answers as in the AI2 ladder; blank if none
``loss:<domain>``   float     optional, any number of columns: *pre-training loss* (> 0) on
                              held-out text of ``<domain>`` (``loss:c4_en``, ``loss:pile``);
                              the same value on every benchmark row of a checkpoint
``guess_rate``      float     optional: random-guess score of the benchmark, in [0, 1),
                              constant per benchmark
==================  ========  ==============================================================

At least one loss column is required and every row needs at least one finite loss.  A model's
*final* checkpoint is its row with the most tokens: the stage-1 (compute -> loss) fits use the
final checkpoints of the ``ladder`` models, the stage-2 (loss -> score) fits use all of their
checkpoints.  Per-domain losses are stored as columns (not a second table) so that the table stays
one frame that :meth:`Ladder.select` filters by model; they repeat across benchmark rows.

Readers
-------
:func:`read_olmo_ladder` (the AI2 ladder: 190M-1B(-3B) runs at several Chinchilla multiples plus
the 7B-4T and 13B-5T targets) and :func:`read_pythia` (Pythia 70M-12B, whose only loss is the
LAMBADA perplexity) build ladders whose ``benchmarks`` are empty and whose ``checkpoints`` are
filled.  :func:`read_checkpoints` and :func:`attach_checkpoints` add a user's table to any ladder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from codbayes.data.ladder import Ladder
from codbayes.data.validate import number_column, row_error, row_numbers, text_column
from codbayes.errors import InputError

KEY_COLUMNS = ("model", "step", "benchmark")
REQUIRED_COLUMNS = ("model", "step", "tokens", "benchmark", "score")
OPTIONAL_COLUMNS = ("flops", "loss", "guess_rate")
TASK_LOSS = "loss"
DOMAIN_PREFIX = "loss:"
DEFAULT_EMERGED_MARGIN = 0.05

#: Random-guess scores of common multiple-choice tasks (ranked classification), by benchmark name.
#: OLMo names follow :data:`OLMO_TASKS`, Pythia names the lm-eval task names.
KNOWN_GUESS_RATES: dict[str, float] = {
    "mmlu": 0.25,
    "hellaswag": 0.25,
    "arc_challenge": 0.25,
    "arc_easy": 0.25,
    "openbookqa": 0.25,
    "sciq": 0.25,
    "logiqa": 0.25,
    "csqa": 0.2,
    "socialiqa": 1 / 3,
    "piqa": 0.5,
    "boolq": 0.5,
    "winogrande": 0.5,
    "wsc": 0.5,
    "lambada_openai": 0.0,
}

__all__ = [
    "DOMAIN_PREFIX",
    "KNOWN_GUESS_RATES",
    "OLMO_PAPER_TASKS",
    "OLMO_TASKS",
    "PYTHIA_TASKS",
    "attach_checkpoints",
    "checkpoint_losses",
    "domain_columns",
    "emerged_mask",
    "final_checkpoints",
    "has_loss_data",
    "ladder_from_checkpoints",
    "loss_variants",
    "read_checkpoints",
    "read_olmo_ladder",
    "read_pythia",
    "require_loss_data",
    "resolve_guess_rates",
    "validate_checkpoints",
]


# ============================================================================ schema helpers
def domain_columns(frame: pd.DataFrame) -> list[str]:
    """The per-domain pre-training loss columns (``loss:<domain>``) of a checkpoints table."""
    return [str(c) for c in frame.columns if str(c).startswith(DOMAIN_PREFIX)]


def _loss_columns(frame: pd.DataFrame) -> list[str]:
    cols = domain_columns(frame)
    return ([TASK_LOSS] if TASK_LOSS in frame.columns else []) + cols


def validate_checkpoints(
    frame: pd.DataFrame,
    models: pd.DataFrame | None = None,
    *,
    source: str = "checkpoints",
) -> pd.DataFrame:
    """Validate a checkpoints table and return it clean and typed.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table following the module's schema.
    models : pandas.DataFrame, optional
        The ladder's models table (index ``model``).  When given, every ``model`` must be in it and
        a missing ``flops`` column is filled with ``tokens`` x the model's compute per token.
    source : str, default "checkpoints"
        Name used in error messages (usually the file path).

    Returns
    -------
    pandas.DataFrame
        Columns ``model, step, tokens, flops, benchmark, score`` then the loss columns and
        ``guess_rate`` if given; sorted by model (in ``models`` order if given), step, benchmark;
        a fresh integer index.

    Raises
    ------
    codbayes.errors.InputError
        One line naming the file, the column and an example row: missing columns, no loss column,
        text or non-finite numbers, negative steps / tokens / compute, scores outside [0, 1],
        non-positive losses, rows without any loss, unknown models, repeated
        (model, step, benchmark) rows, guess rates outside [0, 1) or varying within a benchmark.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a table, got {type(frame).__name__}", source=source)
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {missing}; a checkpoints table needs {list(REQUIRED_COLUMNS)} "
            f"and at least one loss column ('{TASK_LOSS}' or '{DOMAIN_PREFIX}<domain>')",
            source=source,
            column=missing[0],
        )
    if "flops" not in frame.columns and models is None:
        raise InputError(
            "missing column 'flops' (needed when no models table is given)",
            source=source,
            column="flops",
        )
    loss_cols = _loss_columns(frame)
    if not loss_cols:
        raise InputError(
            f"no loss column: add '{TASK_LOSS}' (the task's own loss) or "
            f"'{DOMAIN_PREFIX}<domain>' columns (pre-training loss per domain)",
            source=source,
        )
    allowed = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS) | set(loss_cols)
    extra = [c for c in frame.columns if c not in allowed]
    if extra:
        raise InputError(f"unexpected column {extra[0]!r}", source=source, column=extra[0])
    if len(frame) == 0:
        raise InputError("no data rows", source=source)
    rows = row_numbers(frame)
    out = pd.DataFrame(index=frame.index)
    for col in ("model", "benchmark"):
        text = text_column(frame, col, source=source, rows=rows, required=True)
        out[col] = text.astype(object)
    for col in ("step", "tokens", "flops", "score", *loss_cols, "guess_rate"):
        if col in frame.columns:
            required = col in ("step", "tokens", "flops", "score")
            out[col] = number_column(frame, col, source=source, rows=rows, required=required)
    for col in ("step", "tokens", *(["flops"] if "flops" in out else [])):
        neg = (out[col] < 0).to_numpy()
        if neg.any():
            raise row_error(
                f"must be >= 0, got {out[col][neg].iloc[0]:g}",
                source=source,
                column=col,
                rows=rows,
                mask=neg,
            )
    frac = (out["step"] % 1 != 0).to_numpy()
    if frac.any():
        raise row_error(
            "step must be a whole number", source=source, column="step", rows=rows, mask=frac
        )
    out["step"] = out["step"].astype(np.int64)
    outside = ((out["score"] < 0) | (out["score"] > 1)).to_numpy()
    if outside.any():
        raise row_error(
            f"score must be a fraction in [0, 1], got {out['score'][outside].iloc[0]:g}",
            source=source,
            column="score",
            rows=rows,
            mask=outside,
        )
    for col in loss_cols:
        nonpos = (out[col] <= 0).to_numpy()
        if nonpos.any():
            raise row_error(
                f"loss must be positive, got {out[col][nonpos].iloc[0]:g}",
                source=source,
                column=col,
                rows=rows,
                mask=nonpos,
            )
    no_loss = out[loss_cols].isna().all(axis=1).to_numpy()
    if no_loss.any():
        raise row_error(
            f"row has no loss value (columns {loss_cols})",
            source=source,
            column=loss_cols[0],
            rows=rows,
            mask=no_loss,
        )
    if models is not None:
        unknown = (~out["model"].isin(set(models.index))).to_numpy()
        if unknown.any():
            raise row_error(
                f"model {out['model'][unknown].iloc[0]!r} is not in the models table",
                source=source,
                column="model",
                rows=rows,
                mask=unknown,
            )
        if "flops" not in out:
            per_token = models["flops"] / models["tokens"]
            out["flops"] = out["tokens"] * out["model"].map(per_token).astype(float)
            if out["flops"].isna().any():
                mask = out["flops"].isna().to_numpy()
                raise row_error(
                    "cannot derive 'flops': the model has no params/tokens/flops",
                    source=source,
                    column="flops",
                    rows=rows,
                    mask=mask,
                )
    dup = out.duplicated(list(KEY_COLUMNS), keep="first").to_numpy()
    if dup.any():
        raise row_error(
            "repeated (model, step, benchmark) row",
            source=source,
            column="step",
            rows=rows,
            mask=dup,
        )
    if "guess_rate" in out:
        g = out["guess_rate"]
        bad = (g.notna() & ((g < 0) | (g >= 1))).to_numpy()
        if bad.any():
            raise row_error(
                f"guess rate must be in [0, 1), got {g[bad].iloc[0]:g}",
                source=source,
                column="guess_rate",
                rows=rows,
                mask=bad,
            )
        first = out.groupby("benchmark")["guess_rate"].transform("first")
        spread = g.notna() & first.notna() & (g != first)
        if spread.any():
            raise row_error(
                "guess rate differs between rows of one benchmark",
                source=source,
                column="guess_rate",
                rows=rows,
                mask=spread.to_numpy(),
            )
    order = ["model", "step", "tokens", "flops", "benchmark", "score", *loss_cols]
    order += ["guess_rate"] if "guess_rate" in out else []
    out = out[order]
    if models is not None:
        rank = {m: i for i, m in enumerate(models.index)}
        out = out.assign(_rank=out["model"].map(rank))
        out = out.sort_values(["_rank", "step", "benchmark"], kind="stable").drop(columns="_rank")
    else:
        out = out.sort_values(["model", "step", "benchmark"], kind="stable")
    return out.reset_index(drop=True)


def read_checkpoints(path: str | Path, models: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and validate a checkpoints file (CSV, TSV, optionally gzipped, or Parquet).

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    models : pandas.DataFrame, optional
        The ladder's models table, see :func:`validate_checkpoints`.

    Returns
    -------
    pandas.DataFrame
        The validated table.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", source=str(path))
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            raw = pd.read_parquet(path)
        else:
            sep = "\t" if ".tsv" in name else ","
            raw = pd.read_csv(path, sep=sep, skip_blank_lines=False)
    except (ValueError, OSError, ImportError) as err:  # parser errors are ValueErrors
        raise InputError(
            f"cannot read the file: {str(err).splitlines()[0]}", source=str(path)
        ) from err
    return validate_checkpoints(raw, models, source=str(path))


def attach_checkpoints(
    ladder: Ladder, checkpoints: pd.DataFrame, *, source: str = "checkpoints"
) -> Ladder:
    """A copy of ``ladder`` carrying the validated ``checkpoints`` table."""
    table = validate_checkpoints(checkpoints, ladder.models, source=source)
    return dataclasses.replace(ladder, checkpoints=table, _cache={})


def ladder_from_checkpoints(
    models: pd.DataFrame,
    checkpoints: pd.DataFrame,
    *,
    name: str | None = None,
    models_source: str = "models",
    checkpoints_source: str = "checkpoints",
) -> Ladder:
    """A ladder without item-level results: a models table plus a checkpoints table.

    Parameters
    ----------
    models : pandas.DataFrame
        Raw models table (columns ``model, params, tokens`` and optionally ``flops, role,
        family``), validated by :func:`codbayes.data.validate.validate_models`.
    checkpoints : pandas.DataFrame
        Raw checkpoints table following this module's schema.
    name : str, optional
        Label of the ladder.
    models_source, checkpoints_source : str
        Names used in error messages.
    """
    from codbayes.data.validate import validate_models

    table = validate_models(models, source=models_source)
    ckpt = validate_checkpoints(checkpoints, table, source=checkpoints_source)
    return Ladder(models=table, benchmarks={}, name=name, checkpoints=ckpt)


# ============================================================================ queries
def has_loss_data(ladder: Ladder) -> bool:
    """Whether ``ladder`` carries a checkpoints table with at least one finite loss."""
    ckpt = ladder.checkpoints
    if ckpt is None or len(ckpt) == 0:
        return False
    cols = _loss_columns(ckpt)
    return bool(cols) and bool(ckpt[cols].notna().to_numpy().any())


def require_loss_data(ladder: Ladder, method: str) -> pd.DataFrame:
    """The checkpoints of ``ladder``'s ladder models, or a one-line :class:`InputError`.

    Parameters
    ----------
    ladder : Ladder
        The training ladder.
    method : str
        Method name for the message (``"flp"``).
    """
    hint = (
        "a 'checkpoints' table with columns model, step, tokens, benchmark, score and 'loss' or "
        "'loss:<domain>'; see codbayes.data.checkpoints"
    )
    if not has_loss_data(ladder):
        raise InputError(
            f"method {method} needs per-checkpoint loss data ({hint}); "
            f"ladder {ladder.name or ''} has none".replace("  ", " ")
        )
    ckpt = ladder.checkpoints
    assert ckpt is not None
    rungs = ckpt[ckpt["model"].isin(set(ladder.ladder_models))]
    have = rungs["model"].nunique()
    if have < 2:
        raise InputError(
            f"method {method} needs per-checkpoint loss data for at least 2 ladder "
            f"models; got {have}"
        )
    return rungs.reset_index(drop=True)


def loss_variants(frame: pd.DataFrame) -> list[str]:
    """Loss variants a checkpoints table supports: ``"task"``, ``"pretrain"`` and each domain."""
    out = ["task"] if TASK_LOSS in frame.columns and frame[TASK_LOSS].notna().any() else []
    doms = domain_columns(frame)
    if doms:
        out += ["pretrain", *doms]
    return out


def checkpoint_losses(
    frame: pd.DataFrame, variant: str, benchmark: str | None = None
) -> pd.DataFrame:
    """One loss per checkpoint: columns ``model, step, tokens, flops, loss``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A validated checkpoints table.
    variant : str
        ``"task"`` (the benchmark's own loss; needs ``benchmark``), ``"pretrain"`` (mean of the
        ``loss:<domain>`` columns) or one domain column (``"loss:c4_en"`` or ``"c4_en"``).
    benchmark : str, optional
        Restrict to the rows of this benchmark (required for ``"task"``).

    Returns
    -------
    pandas.DataFrame
        Checkpoints with a finite loss, ordered as in ``frame``.
    """
    rows = frame if benchmark is None else frame[frame["benchmark"] == benchmark]
    if variant == "task":
        if benchmark is None:
            raise ValueError("the task loss needs a benchmark")
        if TASK_LOSS not in rows.columns:
            raise KeyError("no 'loss' column")
        loss = rows[TASK_LOSS]
    elif variant == "pretrain":
        cols = domain_columns(rows)
        if not cols:
            raise KeyError(f"no '{DOMAIN_PREFIX}<domain>' columns")
        loss = rows[cols].mean(axis=1, skipna=False)
    else:
        col = variant if variant.startswith(DOMAIN_PREFIX) else DOMAIN_PREFIX + variant
        if col not in rows.columns:
            raise KeyError(f"no column {col!r}; have {domain_columns(rows)}")
        loss = rows[col]
    out = rows[["model", "step", "tokens", "flops"]].assign(loss=loss.to_numpy())
    if benchmark is None:
        out = out.drop_duplicates(["model", "step"])
    return out[np.isfinite(out["loss"].to_numpy())].reset_index(drop=True)


def final_checkpoints(frame: pd.DataFrame, last_k: int = 1) -> pd.DataFrame:
    """Per model the final checkpoint (most tokens), values averaged over its last ``last_k``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with columns ``model, step, tokens, flops`` plus numeric value columns (typically the
        output of :func:`checkpoint_losses`, or the rows of one benchmark).
    last_k : int, default 1
        Number of last checkpoints averaged (the AI2 ladder uses 5 against checkpoint noise).

    Returns
    -------
    pandas.DataFrame
        One row per model: ``tokens``, ``flops``, ``step`` of the final checkpoint and the mean of
        the other numeric columns over the last ``last_k`` checkpoints.
    """
    if last_k < 1:
        raise ValueError("last_k must be >= 1")
    ordered = frame.sort_values(["model", "tokens", "step"], kind="stable")
    tail = ordered.groupby("model", sort=False).tail(last_k)
    values = [
        c
        for c in tail.columns
        if c not in ("model", "step", "tokens", "flops", "benchmark")
        and pd.api.types.is_numeric_dtype(tail[c])
    ]
    means = tail.groupby("model", sort=False)[values].mean()
    last = ordered.groupby("model", sort=False)[["step", "tokens", "flops"]].last()
    return last.join(means).reset_index()


def resolve_guess_rates(
    benchmarks: Iterable[str],
    *,
    checkpoints: pd.DataFrame | None = None,
    ladder: Ladder | None = None,
    override: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Random-guess score per benchmark.

    Order: ``override``, the checkpoints' ``guess_rate`` column, the ladder's benchmark guess rate,
    :data:`KNOWN_GUESS_RATES`, else 0.
    """
    out: dict[str, float] = {}
    override = dict(override or {})
    table = {}
    if checkpoints is not None and "guess_rate" in checkpoints.columns:
        known = checkpoints.dropna(subset=["guess_rate"])
        table = known.groupby("benchmark")["guess_rate"].first().to_dict()
    for bench in benchmarks:
        if bench in override:
            out[bench] = float(override[bench])
        elif bench in table:
            out[bench] = float(table[bench])
        elif (
            ladder is not None
            and bench in ladder.benchmarks
            and ladder.guess_rate(bench) is not None
        ):
            out[bench] = float(ladder.guess_rate(bench))  # type: ignore[arg-type]
        else:
            out[bench] = float(KNOWN_GUESS_RATES.get(bench, 0.0))
    return out


def emerged_mask(
    frame: pd.DataFrame,
    guess_rates: Mapping[str, float],
    margin: float | None = DEFAULT_EMERGED_MARGIN,
) -> np.ndarray:
    """Rows whose score is at least the benchmark's guess rate plus ``margin`` (FLP's filter).

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with columns ``benchmark`` and ``score``.
    guess_rates : Mapping[str, float]
        Guess rate per benchmark (missing benchmarks count as 0).
    margin : float or None, default 0.05
        Points above random (as a fraction); ``None`` keeps every row.
    """
    if margin is None:
        return np.ones(len(frame), dtype=bool)
    floor = frame["benchmark"].map(lambda b: guess_rates.get(b, 0.0)).to_numpy(dtype=float)
    return frame["score"].to_numpy(dtype=float) >= floor + margin - 1e-12


# ============================================================================ OLMo ladder
@dataclasses.dataclass(frozen=True)
class OlmoTask:
    """How one benchmark is read from the AI2 ladder's W&B exports.

    Attributes
    ----------
    keys : tuple of (str, float)
        OLMES sub-task keys (``"hellaswag_val"``) with weights; losses and scores are weighted
        means over them (MMLU: its 4 categories, weights as in AI2's code).
    metric : str
        Accuracy suffix: ``"len_norm"`` (length-normalised ranked classification) or ``"acc"``.
    guess_rate : float
        Random-guess accuracy.
    """

    keys: tuple[tuple[str, float], ...]
    metric: str
    guess_rate: float

    def loss_columns(self) -> list[str]:
        """W&B columns of the task loss (bits per byte of the correct continuation)."""
        return [f"eval/downstream_bpb/{k}_rc_5shot_bpb" for k, _ in self.keys]

    def score_columns(self) -> list[str]:
        """W&B columns of the accuracy."""
        return [f"eval/downstream/{k}_rc_5shot_{self.metric}" for k, _ in self.keys]

    def weights(self) -> np.ndarray:
        """Weights of the sub-tasks."""
        return np.array([w for _, w in self.keys], dtype=float)


_MMLU = tuple(
    (f"mmlu_{cat}_test", w)
    for cat, w in (
        ("stem", 0.215),
        ("humanities", 0.335),
        ("social_sciences", 0.219),
        ("other", 0.231),
    )
)
#: The AI2 ladder's tasks as evaluated in its paper (5-shot ranked classification; test splits
#: where the paper used them), plus BoolQ and WinoGrande which the paper left out.
OLMO_TASKS: dict[str, OlmoTask] = {
    "mmlu": OlmoTask(_MMLU, "len_norm", 0.25),
    "hellaswag": OlmoTask((("hellaswag_val", 1.0),), "len_norm", 0.25),
    "arc_challenge": OlmoTask((("arc_challenge_test", 1.0),), "len_norm", 0.25),
    "arc_easy": OlmoTask((("arc_easy_test", 1.0),), "len_norm", 0.25),
    "piqa": OlmoTask((("piqa_val", 1.0),), "len_norm", 0.5),
    "csqa": OlmoTask((("csqa_val", 1.0),), "len_norm", 0.2),
    "socialiqa": OlmoTask((("socialiqa_val", 1.0),), "len_norm", 1 / 3),
    "openbookqa": OlmoTask((("openbookqa_test", 1.0),), "len_norm", 0.25),
    "boolq": OlmoTask((("boolq_val", 1.0),), "acc", 0.5),
    "winogrande": OlmoTask((("winogrande_val", 1.0),), "len_norm", 0.5),
}
#: The 8 tasks of the AI2 ladder paper's main table (3.8 / 4.2 points mean absolute error).
OLMO_PAPER_TASKS = (
    "mmlu",
    "hellaswag",
    "arc_challenge",
    "arc_easy",
    "piqa",
    "csqa",
    "socialiqa",
    "openbookqa",
)
#: Ladder sizes: non-embedding parameters and training FLOPs per token (AI2's ``MODEL_FLOPS``).
OLMO_SIZES: dict[str, tuple[int, int]] = {
    "190M": (190354176, 1903391232),
    "370M": (371262464, 3443922944),
    "760M": (758220288, 6373843968),
    "1B": (1279395840, 10109071360),
    "3B": (3169537280, 22970355200),
}
#: Target runs: (file, non-embedding parameters, FLOPs per token), as in ``configs/final.json``.
OLMO_TARGETS: dict[str, tuple[str, int, int]] = {
    "7B-4T": ("peteish7_eval_anneal", 6887575552, 49412071424),
    "13B-5T": ("peteish13_eval_final", 13202396160, 91335915520),
}
OLMO_DOMAINS = (
    "c4_en",
    "dolma_books",
    "dolma_common-crawl",
    "dolma_pes2o",
    "dolma_reddit",
    "dolma_stack",
    "dolma_wiki",
    "ice",
    "m2d2_s2orc",
    "pile",
    "wikitext_103",
)


def _mult_label(mult: float) -> str:
    return f"{mult:g}xC"


def _read_olmo_run(
    path: Path, model: str, flops_per_token: float, tasks: Mapping[str, OlmoTask]
) -> pd.DataFrame:
    """One W&B export -> tidy checkpoint rows (one per checkpoint x task)."""
    if not path.is_file():
        raise InputError("file not found", source=str(path))
    raw = pd.read_csv(path)
    needed = ["batch_size_in_tokens"] + [
        f"eval/{d}-validation/CrossEntropyLoss" for d in OLMO_DOMAINS
    ]
    for task in tasks.values():
        needed += task.loss_columns() + task.score_columns()
    if "throughput/total_tokens" not in raw.columns and "_step" not in raw.columns:
        needed.append("_step")
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise InputError("missing column", source=str(path), column=missing[0])
    if "throughput/total_tokens" in raw.columns:
        tokens = raw["throughput/total_tokens"].astype(float)
    else:  # the peteish exports log steps only
        tokens = raw["_step"].astype(float) * raw["batch_size_in_tokens"].astype(float)
    if "_step" in raw.columns:
        step = raw["_step"].astype(np.int64)
    else:
        step = np.rint(tokens / raw["batch_size_in_tokens"].astype(float)).astype(np.int64)
    base = pd.DataFrame(
        {"model": model, "step": step, "tokens": tokens, "flops": tokens * float(flops_per_token)}
    )
    for dom in OLMO_DOMAINS:
        base[DOMAIN_PREFIX + dom] = raw[f"eval/{dom}-validation/CrossEntropyLoss"].astype(float)
    parts = []
    for name, task in tasks.items():
        w = task.weights()
        part = base.copy()
        part.insert(4, "benchmark", name)
        part.insert(5, "score", raw[task.score_columns()].to_numpy(float) @ w / w.sum())
        part.insert(6, TASK_LOSS, raw[task.loss_columns()].to_numpy(float) @ w / w.sum())
        part["guess_rate"] = task.guess_rate
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def read_olmo_ladder(
    root: str | Path,
    *,
    sizes: Sequence[str] = ("190M", "370M", "760M", "1B"),
    multipliers: Sequence[float] = (1, 2, 5, 10),
    tasks: Sequence[str] | None = None,
    targets: bool = True,
    name: str = "olmo-ladder",
) -> Ladder:
    """Read the AI2 OLMo model ladder (Bhagia et al.) as a ladder with checkpoints.

    Parameters
    ----------
    root : str or pathlib.Path
        The ``olmo_ladder`` folder (holding ``ladder-runs/*.csv.gz``).
    sizes : sequence of str, default ("190M", "370M", "760M", "1B")
        Ladder sizes, from :data:`OLMO_SIZES` (add ``"3B"`` for the larger rung).
    multipliers : sequence of float, default (1, 2, 5, 10)
        Chinchilla multiples (tokens = multiple x 20 x params); ``0.5`` is also available.
    tasks : sequence of str, optional
        Benchmarks from :data:`OLMO_TASKS` (default: all ten).
    targets : bool, default True
        Add the 7B-4T (annealed) and 13B-5T targets, the final evaluations the paper scores.
    name : str, default "olmo-ladder"
        Label of the ladder.

    Returns
    -------
    Ladder
        Models named ``"<size>-<k>xC"`` and ``"7B-4T"``, ``"13B-5T"`` (all role ``ladder``,
        family ``"olmo2"``), params = non-embedding parameters, tokens = tokens of the final
        checkpoint, flops = AI2's FLOPs per token x tokens (attention included, roughly 6.1-7 N D);
        no item-level benchmarks; checkpoints with the task loss in bits per byte (``loss``), the
        11 validation-set cross-entropies (``loss:<domain>``), accuracy and guess rate.  The run
        files the paper's ``configs/final.json`` uses (not the ``-rerun`` copies).
    """
    root = Path(root)
    runs_dir = root / "ladder-runs"
    wanted = list(tasks) if tasks is not None else list(OLMO_TASKS)
    bad = [t for t in wanted if t not in OLMO_TASKS]
    if bad:
        raise InputError(f"unknown OLMo task {bad[0]!r}; choose from {list(OLMO_TASKS)}")
    chosen = {t: OLMO_TASKS[t] for t in wanted}
    frames, rows = [], []
    for size in sizes:
        if size not in OLMO_SIZES:
            raise InputError(f"unknown OLMo ladder size {size!r}; choose from {list(OLMO_SIZES)}")
        params, fpt = OLMO_SIZES[size]
        for mult in multipliers:
            model = f"{size}-{_mult_label(mult)}"
            part = _read_olmo_run(runs_dir / f"{model}.csv.gz", model, fpt, chosen)
            frames.append(part)
            rows.append((model, params, part["tokens"].max(), fpt, "olmo2"))
    if targets:
        for model, (stem, params, fpt) in OLMO_TARGETS.items():
            part = _read_olmo_run(runs_dir / f"{stem}.csv.gz", model, fpt, chosen)
            frames.append(part)
            rows.append((model, params, part["tokens"].max(), fpt, "olmo2"))
    models = pd.DataFrame(rows, columns=["model", "params", "tokens", "fpt", "family"])
    models["flops"] = models["tokens"] * models["fpt"]
    models["role"] = "ladder"
    models = _models_table(models)
    ckpt = validate_checkpoints(pd.concat(frames, ignore_index=True), models, source=str(runs_dir))
    return Ladder(models=models, benchmarks={}, name=name, checkpoints=ckpt)


def _models_table(models: pd.DataFrame) -> pd.DataFrame:
    """Models table in the :class:`Ladder` layout (index ``model``, sorted by compute)."""
    table = models[["model", "params", "tokens", "flops", "role", "family"]].copy()
    for col in ("params", "tokens", "flops"):
        table[col] = table[col].astype(float)
    table = table.sort_values("flops", kind="stable").set_index("model")
    return table


# ============================================================================ Pythia
#: Pythia benchmarks read by :func:`read_pythia` (lm-eval task names; ``mmlu`` = the unweighted
#: mean over the 57 ``hendrycksTest-*`` subjects).
PYTHIA_TASKS = (
    "arc_challenge",
    "arc_easy",
    "lambada_openai",
    "logiqa",
    "piqa",
    "sciq",
    "winogrande",
    "wsc",
    "mmlu",
)
PYTHIA_FINAL_STEP = 143000


def read_pythia(
    path: str | Path,
    *,
    variant: str = "standard",
    shots: str = "zero-shot",
    metric: str = "acc",
    tasks: Sequence[str] | None = None,
    name: str | None = None,
) -> Ladder:
    """Read the Pythia suite's lm-eval results over training as a ladder with checkpoints.

    The file has no pre-training loss; its only loss is LAMBADA's perplexity, so every checkpoint
    gets ``loss:lambada = log(perplexity)`` (per-token cross-entropy of the LAMBADA target word,
    in nats) as its single "domain" loss, and the ``lambada_openai`` rows also carry it as their
    task ``loss``.  FLP on Pythia therefore predicts every task through the LAMBADA loss.

    Parameters
    ----------
    path : str or pathlib.Path
        ``pythia_v1_evals_tidy.csv.gz`` (columns ``model, size, variant, params, step, tokens,
        shots, task, metric, value, stderr``).
    variant : {"standard", "deduped"}, default "standard"
        Which Pythia suite (70M-12B, 300B tokens each).
    shots : {"zero-shot", "five-shot"}, default "zero-shot"
        Evaluation setting (five-shot has fewer checkpoints).
    metric : {"acc", "acc_norm"}, default "acc"
        Score metric (``acc_norm`` falls back to ``acc`` where missing).
    tasks : sequence of str, optional
        Subset of :data:`PYTHIA_TASKS`.
    name : str, optional
        Label (default ``"pythia-<variant>-<shots>"``).

    Returns
    -------
    Ladder
        Models ``pythia-70m`` ... ``pythia-12b`` (role ``ladder``, family ``"pythia"``), flops
        ``6 N D`` with total parameters; checkpoints at steps up to 143000 (ones with ``tokens``
        0 included).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", source=str(path))
    if metric not in ("acc", "acc_norm"):
        raise InputError(f"metric must be 'acc' or 'acc_norm', got {metric!r}")
    wanted = list(tasks or PYTHIA_TASKS)
    unknown = [t for t in wanted if t not in PYTHIA_TASKS]
    if unknown:
        raise InputError(f"unknown Pythia task {unknown[0]!r}; choose from {list(PYTHIA_TASKS)}")
    raw = pd.read_csv(path)
    need = ("model", "variant", "params", "step", "tokens", "shots", "task", "metric", "value")
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise InputError("missing column", source=str(path), column=missing[0])
    raw = raw[
        (raw["variant"] == variant) & (raw["shots"] == shots) & (raw["step"] <= PYTHIA_FINAL_STEP)
    ]
    if raw.empty:
        raise InputError(
            f"no rows for variant {variant!r} and shots {shots!r}",
            source=str(path),
            column="variant",
        )
    raw = raw.assign(task=raw["task"].where(~raw["task"].str.startswith("hendrycksTest-"), "mmlu"))
    keys = ["model", "params", "step", "tokens", "task"]
    table = raw.pivot_table(index=keys, columns="metric", values="value", aggfunc="mean")
    table = table.reset_index()
    ppl = table[table["task"] == "lambada_openai"].set_index(["model", "step"])["ppl"]
    score = (
        table["acc"]
        if metric == "acc" or "acc_norm" not in table
        else table["acc_norm"].fillna(table["acc"])
    )
    ckpt = table[keys].assign(score=score.to_numpy()).rename(columns={"task": "benchmark"})
    ckpt = ckpt[ckpt["benchmark"].isin(wanted) & ckpt["score"].notna()]
    lam = np.log(ppl).rename(DOMAIN_PREFIX + "lambada")
    ckpt = ckpt.join(lam, on=["model", "step"])
    ckpt[TASK_LOSS] = ckpt[DOMAIN_PREFIX + "lambada"].where(ckpt["benchmark"] == "lambada_openai")
    ckpt["guess_rate"] = ckpt["benchmark"].map(KNOWN_GUESS_RATES).astype(float)
    ckpt = ckpt.dropna(subset=[DOMAIN_PREFIX + "lambada"])
    final = ckpt.groupby("model").agg(params=("params", "first"), tokens=("tokens", "max"))
    models = final.reset_index()
    models["flops"] = 6.0 * models["params"] * models["tokens"]
    models["role"] = "ladder"
    models["family"] = "pythia"
    models = _models_table(models)
    ckpt = ckpt.drop(columns="params")
    ckpt["flops"] = 6.0 * ckpt["model"].map(models["params"]) * ckpt["tokens"]
    cols = [
        "model",
        "step",
        "tokens",
        "flops",
        "benchmark",
        "score",
        TASK_LOSS,
        DOMAIN_PREFIX + "lambada",
        "guess_rate",
    ]
    ckpt = validate_checkpoints(ckpt[cols].reset_index(drop=True), models, source=str(path))
    return Ladder(
        models=models, benchmarks={}, name=name or f"pythia-{variant}-{shots}", checkpoints=ckpt
    )
