"""Command-line interface: argument parsing and printing only, no modelling code.

Every bad input ends in ``codbayes: error: <one line>`` on stderr and exit code 2, with nothing
written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from codbayes._version import __version__
from codbayes.errors import ConvergenceWarning, InputError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit 2 (as argparse does)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"codbayes: error: {message} (see 'codbayes --help')\n")


def _number(kind: type, ok: Callable[[float], bool], rule: str) -> Callable[[str], float]:
    """An argparse type converting text to ``kind`` and checking ``ok`` (else: ``rule``)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not (math.isfinite(value) and ok(value)):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
        return value

    return parse


_positive_float = _number(float, lambda v: v > 0, "a positive number")
_positive_int = _number(int, lambda v: v >= 1, "at least 1")
_fraction = _number(float, lambda v: 0 <= v <= 1, "a fraction in [0, 1]")
_seed = _number(int, lambda v: v >= 0, ">= 0")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "results",
        nargs="?",
        default=None,
        help="tidy results table (CSV or Parquet): benchmark,item,model,score[,samples]"
        " (may be omitted when --losses is given)",
    )
    p.add_argument(
        "--models", required=True, help="models table: model,params,tokens[,flops][,role][,family]"
    )
    p.add_argument(
        "--benchmarks", default=None, help="optional benchmarks table: benchmark,guess_rate"
    )
    p.add_argument(
        "--losses",
        default=None,
        help="optional per-checkpoint losses and scores for FLP / FLP-M: "
        "model,step,tokens,benchmark,score,loss[,loss:<domain>...]",
    )


def _add_method_args(p: argparse.ArgumentParser, *, default_method: str = "cod-bayes") -> None:
    from codbayes.methods import REGISTRY

    p.add_argument(
        "--method",
        default=default_method,
        choices=sorted(REGISTRY),
        help=f"prediction method (default {default_method})",
    )
    p.add_argument(
        "--anchor",
        nargs="+",
        default=[],
        metavar="MODEL",
        help="models used only for the subset-to-full mapping",
    )
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument(
        "--draws", type=_positive_int, default=1000, help="posterior draws per chain (default 1000)"
    )
    p.add_argument("--chains", type=_positive_int, default=4, help="MCMC chains (default 4)")
    p.add_argument(
        "--tune",
        type=_positive_int,
        default=None,
        help="tuning steps per chain (default: same as --draws)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")


def build_parser() -> argparse.ArgumentParser:
    """The ``codbayes`` argument parser."""
    parser = _Parser(
        prog="codbayes",
        description="Predict a large LLM's benchmark scores, with credible intervals, from "
        "item-level evaluations of a ladder of small models (Bayesian COD).",
    )
    parser.add_argument("--version", action="version", version=f"codbayes {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="check input files and print a summary")
    _add_data_args(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("predict", help="predict every benchmark's score at a target compute")
    p.add_argument(
        "results",
        nargs="?",
        default=None,
        help="tidy results table (CSV or Parquet), or a saved fit (codbayes fit ... --out FIT); "
        "may be omitted when --losses is given",
    )
    p.add_argument(
        "--models",
        default=None,
        help="models table: model,params,tokens[,flops][,role][,family] "
        "(required unless RESULTS is a saved fit)",
    )
    p.add_argument(
        "--benchmarks", default=None, help="optional benchmarks table: benchmark,guess_rate"
    )
    p.add_argument(
        "--losses",
        default=None,
        help="optional per-checkpoint losses and scores for FLP / FLP-M",
    )
    p.add_argument(
        "--target-flops",
        required=True,
        type=_positive_float,
        help="training compute of the target model (FLOPs)",
    )
    _add_method_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", default=None, help="also write the output to this file")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("backtest", help="hide the largest model(s), predict them, score methods")
    _add_data_args(p)
    _add_method_args(p)
    p.add_argument(
        "--methods",
        nargs="+",
        default=None,
        metavar="METHOD",
        help="methods to compare (default: cod-bayes, cod-point and the end-to-end "
        "baselines, plus FLP when loss data exist)",
    )
    p.add_argument(
        "--holdout",
        default="largest",
        choices=["largest", "k-largest", "family"],
        help="which models to hide (default: the largest ladder model)",
    )
    p.add_argument(
        "--k",
        type=_positive_int,
        default=2,
        help="number of models hidden with --holdout k-largest (default 2)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", default=None, help="also write the output to this file")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("fit", help="fit a method and save the fit to one file")
    _add_data_args(p)
    _add_method_args(p)
    p.add_argument("--out", required=True, help="file to write the fit to (netCDF)")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("plan", help="smallest compute reaching a score with a given probability")
    p.add_argument("fit", help="a saved fit (codbayes fit ... --out FIT)")
    p.add_argument("--benchmark", required=True, help="benchmark to plan for")
    p.add_argument("--score", required=True, type=_fraction, help="target score in [0, 1]")
    p.add_argument(
        "--prob",
        type=_fraction,
        default=0.9,
        help="required probability P(score >= SCORE) (default 0.9)",
    )
    p.add_argument(
        "--flops-range",
        nargs=2,
        type=_positive_float,
        default=None,
        metavar=("LO", "HI"),
        help="computes to search (default: ladder to 1000x)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("monitor", help="place checkpoints of a run in the predicted band")
    p.add_argument("fit", help="a saved fit")
    p.add_argument(
        "--checkpoints",
        required=True,
        help="CSV: checkpoint,flops,benchmark,score (or item-level with item)",
    )
    p.add_argument("--prob", type=_fraction, default=0.9, help="band mass (default 0.9)")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_monitor)

    p = sub.add_parser("report", help="write a self-contained HTML report of a saved fit")
    p.add_argument("fit", help="a saved fit")
    p.add_argument("--out", required=True, help="folder to write index.html into")
    p.add_argument("--checkpoints", default=None, help="optional checkpoint scores to monitor")
    p.add_argument(
        "--target-flops",
        nargs="+",
        type=_positive_float,
        default=None,
        help="target computes to show (default 30x the largest rung)",
    )
    p.add_argument("--title", default="codbayes report", help="page title")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("demo", help="predict the held-out largest model of the bundled example")
    _add_method_args(p)
    p.set_defaults(func=cmd_demo)
    return parser


# ---------------------------------------------------------------------------- commands
def _load(args: argparse.Namespace):
    from codbayes.data import checkpoints as ckpt
    from codbayes.data.readers import read_ladder, read_table

    losses = getattr(args, "losses", None)
    if args.results is None:
        if losses is None:
            raise InputError(
                "give a results table, or --losses for loss-based methods", source="RESULTS"
            )
        models = read_table(args.models)
        ladder = ckpt.ladder_from_checkpoints(
            models,
            ckpt.read_checkpoints(losses),
            models_source=args.models,
            checkpoints_source=losses,
        )
    else:
        ladder = read_ladder(args.results, args.models, benchmarks=args.benchmarks)
        if losses is not None:
            ladder = ckpt.attach_checkpoints(
                ladder, ckpt.read_checkpoints(losses, ladder.models), source=losses
            )
    anchors = getattr(args, "anchor", None)
    if anchors:
        unknown = [m for m in anchors if m not in ladder.models.index]
        if unknown:
            raise InputError(f"unknown model(s) {', '.join(unknown)}", source="--anchor")
        ladder = ladder.with_roles(dict.fromkeys(anchors, "anchor"))
        from codbayes.data.validate import check_ladder_size

        check_ladder_size(ladder, source=args.models)
    return ladder


def _method_params(args: argparse.Namespace) -> dict:
    return {
        "seed": args.seed,
        "draws": args.draws,
        "chains": args.chains,
        "tune": args.tune if args.tune is not None else args.draws,
        "progressbar": not args.quiet,
    }


def _method(args: argparse.Namespace):
    from codbayes.methods import get_method

    return get_method(args.method, **_method_params(args))


def cmd_validate(args: argparse.Namespace) -> int:
    """``codbayes validate``: print a summary of valid input, or the error."""
    ladder = _load(args)
    print(ladder.summary())
    return 0


def format_table(prediction, actual: dict[str, float] | None = None) -> str:
    """Readable prediction table (percent), one row per benchmark."""
    head = f"{'benchmark':<22}{'median':>8}{'mean':>8}{'90% interval':>18}{'50% interval':>18}"
    if actual:
        head += f"{'actual':>8}{'in 90%':>8}"
    lines = [f"method {prediction.method}, target {prediction.target_flops[0]:.3g} FLOPs", head]
    for bench, row in prediction.summary(target=0).reset_index().set_index("benchmark").iterrows():
        line = (
            f"{bench:<22}{100 * row['median']:>8.1f}{100 * row['mean']:>8.1f}"
            f"{f'[{100 * row.q05:.1f}, {100 * row.q95:.1f}]':>18}"
            f"{f'[{100 * row.q25:.1f}, {100 * row.q75:.1f}]':>18}"
        )
        if actual and bench in actual:
            inside = row["q05"] <= actual[bench] <= row["q95"]
            line += f"{100 * actual[bench]:>8.1f}{'yes' if inside else 'NO':>8}"
        lines.append(line)
    diag = prediction.diagnostics
    if diag and not all(isinstance(v, float) and math.isnan(v) for v in diag.values()):
        lines.append(
            f"diagnostics: max R-hat {diag.get('max_rhat', math.nan):.3f}, "
            f"min bulk ESS {diag.get('min_ess_bulk', math.nan):.0f}, "
            f"divergences {int(diag.get('divergences', 0))}"
        )
    return "\n".join(lines)


def _write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file so nothing half-written is left."""
    target = Path(path)
    if not target.parent.exists():
        raise InputError("directory does not exist", source=f"--out {path}")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _is_saved_fit(path: str) -> bool:
    """Whether ``path`` is an HDF5/netCDF file (a saved fit) rather than a table."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x89HDF"
    except OSError:
        return False


def cmd_predict(args: argparse.Namespace) -> int:
    """``codbayes predict``: fit a method on the ladder (or load a saved fit), predict."""
    if args.results is not None and _is_saved_fit(args.results):
        from codbayes.store import load_fit

        predictor = load_fit(args.results)
    else:
        if args.models is None:
            raise InputError(
                "--models is required unless RESULTS is a saved fit",
                source=args.results or "RESULTS",
            )
        predictor = _method(args).fit(_load(args))
    prediction = predictor.predict(args.target_flops)
    text = (
        json.dumps(prediction.to_json_dict(), indent=2) if args.json else format_table(prediction)
    )
    if args.out:
        _write_atomic(args.out, text + "\n")
    print(text)
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    """``codbayes fit``: fit a method and write the fit (posterior, data, clusters, config)."""
    from codbayes.store import save_fit

    ladder = _load(args)
    _check_out_dir(args.out)
    predictor = _method(args).fit(ladder)
    path = save_fit(predictor, args.out)
    print(
        f"wrote {path} ({args.method}, {len(ladder.ladder_models)} rungs, "
        f"{len(ladder.benchmarks)} benchmark(s))"
    )
    return 0


def _check_out_dir(path: str) -> None:
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError("directory does not exist", source=f"--out {path}")


def cmd_plan(args: argparse.Namespace) -> int:
    """``codbayes plan``: smallest compute with P(score >= x) >= prob."""
    from codbayes.decide import plan_compute
    from codbayes.store import load_fit

    predictor = load_fit(args.fit)
    _check_benchmark(predictor, args.benchmark, args.fit)
    plan = plan_compute(
        predictor,
        args.benchmark,
        args.score,
        args.prob,
        flops_range=tuple(args.flops_range) if args.flops_range else None,
    )
    print(json.dumps(plan.to_dict(), indent=2) if args.json else plan.summary())
    return 0


def _check_benchmark(predictor, benchmark: str, source: str) -> None:
    ladder = getattr(predictor, "ladder_", None)
    names = list(ladder.benchmarks) if ladder is not None else []
    if names and benchmark not in names:
        raise InputError(
            f"unknown benchmark {benchmark!r}; the fit has {', '.join(names)}",
            source=f"--benchmark ({source})",
        )


def cmd_monitor(args: argparse.Namespace) -> int:
    """``codbayes monitor``: is each checkpoint inside the predicted band?"""
    from codbayes.decide import monitor
    from codbayes.store import load_fit

    table = monitor(load_fit(args.fit), args.checkpoints, prob=args.prob)
    if args.json:
        print(table.to_json(orient="records", indent=2))
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        behind = table[table["status"] == "below"]
        if len(behind):
            print(
                f"{len(behind)} checkpoint score(s) below the {args.prob:.0%} band", file=sys.stderr
            )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``codbayes report``: write a self-contained HTML report."""
    from codbayes.report import write_report
    from codbayes.store import load_fit

    predictor = load_fit(args.fit)
    out = Path(args.out)
    if not out.resolve().parent.is_dir():
        raise InputError("parent directory does not exist", source=f"--out {args.out}")
    path = write_report(
        predictor,
        out,
        title=args.title,
        target_flops=args.target_flops,
        checkpoints=args.checkpoints,
    )
    print(f"wrote {path}")
    return 0


DEFAULT_BACKTEST_METHODS = ("cod-bayes", "cod-point", "e2e-exp", "e2e-passrate", "e2e-sigmoid")


def cmd_backtest(args: argparse.Namespace) -> int:
    """``codbayes backtest``: hide the largest model(s), predict them with every method, score."""
    from codbayes.evaluate import backtest
    from codbayes.methods import REGISTRY

    ladder = _load(args)
    methods = list(args.methods or DEFAULT_BACKTEST_METHODS)
    if args.methods is None and ladder.checkpoints is not None:
        methods += ["flp", "flp-m"]
    unknown = [m for m in methods if m not in REGISTRY]
    if unknown:
        raise InputError(
            f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(sorted(REGISTRY))}",
            source="--methods",
        )
    params = _method_params(args)
    params["progressbar"] = False
    result = backtest(
        ladder,
        methods,
        holdout=args.holdout,
        k=args.k,
        method_params={"*": params},
        progress=not args.quiet,
    )
    text = json.dumps(result.to_json_dict(), indent=2) if args.json else result.format_table()
    if args.out:
        _write_atomic(args.out, text + "\n")
    print(text)
    if len(result.skipped) and not args.json:
        for _, row in result.skipped.iterrows():
            print(f"skipped: {row['method']} on {row['split']}: {row['reason']}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``codbayes demo``: hold out the bundled example's largest model and predict it."""
    from codbayes.data.examples import load_example

    ladder = load_example()
    train, held = ladder.holdout_largest(1)
    target = held.ladder_models[0]
    flops = float(held.compute.loc[target])
    if not args.quiet:
        print(
            f"{ladder.name}: fitting on {', '.join(train.ladder_models)}"
            + (f" (anchors: {', '.join(train.anchor_models)})" if train.anchor_models else ""),
            file=sys.stderr,
        )
        print(f"predicting held-out {target} at {flops:.3g} FLOPs", file=sys.stderr)
    prediction = _method(args).fit(train).predict(flops)
    actual = held.scores().loc[target].to_dict()
    print(format_table(prediction, actual))
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line on stderr: ``codbayes: warning: <message>``."""
    print(f"codbayes: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``codbayes`` command."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors (already printed)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    quiet = bool(getattr(args, "quiet", False))
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            if quiet:  # no progress and no library chatter; an unreliable fit is still said
                warnings.simplefilter("ignore")
                warnings.simplefilter("always", ConvergenceWarning)
            return int(args.func(args) or 0)
    except InputError as err:
        print(f"codbayes: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("codbayes: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
