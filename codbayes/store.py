"""Saved fits: one netCDF (HDF5) file per fitted predictor, no pickle.

:func:`save_fit` writes everything needed to predict again without refitting, and
:func:`load_fit` gives back a fitted predictor that predicts the same numbers (same seed).

File layout (an ``xarray.DataTree`` written with the h5netcdf engine)::

    /                      attrs: format ("codbayes-fit"), codbayes_schema_version,
                           codbayes_version, method, params, model_config, sampler_config,
                           state (JSON of the small fitted attributes), state_kinds, data_hash,
                           ladder_name, benchmarks, created
    /posterior, /sample_stats, /observed_data, /fit_data, ...
                           the predictor's ``idata_`` groups as they are, so ``az.summary`` works
                           on the opened file and ``CODBayes.load`` reads it too
    /fit_data/results      children of ``fit_data``: the training ladder as tidy tables
    /fit_data/models       (:func:`~codbayes.data.writers.ladder_to_tables`; results, models,
    /fit_data/benchmarks   guess rates and, if any, checkpoints), one variable per column
    /clusters/b0, b1, ...  one ``ClusteredBenchmark`` per benchmark (attr ``key``)
    /state/<attribute>     other fitted arrays, tables, series, mappings and model data

The fitted attributes of a predictor (names ending in ``_``) are stored by type: the ladder
(``ladder_``), posterior trees, clustered benchmarks, subset mappings (refitted exactly from their
stored points on load), objects with ``to_dataset`` / ``from_dataset`` (``FitData``), arrays,
tables, series and JSON-able values; the PyMC model (``model_``) is not stored and comes back as
``None``.  A predictor holding anything else (e.g. FLP's loss laws) cannot be saved and says so
in one line.

``data_hash`` is the SHA-256 of the tidy tables; :func:`load_fit` recomputes it and refuses a
file whose data do not match.  A file that is not a codbayes fit, or was written with another
``codbayes_schema_version``, raises :class:`~codbayes.errors.InputError`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from codbayes._version import __version__
from codbayes.data.ladder import BenchmarkResults, Ladder
from codbayes.data.writers import ladder_to_tables
from codbayes.errors import InputError
from codbayes.mapping import SubsetMapping
from codbayes.methods import REGISTRY
from codbayes.methods.base import Predictor
from codbayes.subset import ClusteredBenchmark

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "as_predictor",
    "clustered_from_dataset",
    "clustered_to_dataset",
    "data_hash",
    "fit_info",
    "ladder_from_tree",
    "load_fit",
    "read_fit_tree",
    "save_fit",
    "table_from_dataset",
    "table_to_dataset",
]

PathLike = str | os.PathLike

#: version of the file layout; bump when a change makes old files unreadable
SCHEMA_VERSION = 1
#: value of the root ``format`` attribute
FORMAT = "codbayes-fit"
ENGINE = "h5netcdf"

_LADDER_GROUP = "fit_data"
_CLUSTERS_GROUP = "clusters"
_STATE_GROUP = "state"
_TABLES = ("results", "models", "benchmarks", "checkpoints")


# ============================================================================ JSON
def _to_json(value: Any) -> Any:
    """``value`` as plain JSON types (dataclasses -> dicts, numpy -> Python, tuples -> lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, np.ndarray) and value.ndim <= 1:
        return [_to_json(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value  # NaN / inf are written as the JSON extensions NaN / Infinity
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _dumps(value: Any) -> str:
    return json.dumps(_to_json(value), sort_keys=True)


def _is_jsonable(value: Any) -> bool:
    try:
        _to_json(value)
    except TypeError:
        return False
    return True


# ============================================================================ tables
def table_to_dataset(
    frame: pd.DataFrame, dim: str = "row", *, index: bool = False, prefix: str = "c"
) -> xr.Dataset:
    """A table as a Dataset with one variable per column along ``dim``, exactly invertible.

    Column ``i`` is stored as variable ``<prefix><i>`` (so any column name is allowed) and the
    names in the attribute ``<prefix>columns``.  Numeric columns are stored as they are, boolean
    ones as int8, others as strings with a ``<prefix>null<i>`` mask where a cell is missing (so
    ``None`` comes back as ``None``).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    dim : str, default "row"
        Name of the row dimension.
    index : bool, default False
        Also store the index (restored by :func:`table_from_dataset`).
    prefix : str, default "c"
        Prefix of the variable names (several tables can share one Dataset).
    """
    n_index = frame.index.nlevels if index else 0
    frame = frame.reset_index() if index else frame
    ds = xr.Dataset(
        attrs={
            f"{prefix}columns": json.dumps([str(c) for c in frame.columns]),
            f"{prefix}n_index": n_index,
        }
    )
    for i, col in enumerate(frame.columns):
        series = frame[col]
        var = f"{prefix}{i}"
        if pd.api.types.is_bool_dtype(series):
            ds[var] = (dim, series.to_numpy(dtype=np.int8), {"kind": "bool"})
        elif pd.api.types.is_numeric_dtype(series):
            ds[var] = (dim, series.to_numpy())
        else:
            null = series.isna().to_numpy()
            text = np.array(["" if n else str(v) for v, n in zip(series, null, strict=True)],
                            dtype=object)  # fmt: skip
            ds[var] = (dim, text, {"kind": "str"})
            if null.any():
                ds[f"{prefix}null{i}"] = (dim, null.astype(np.int8))
    return ds


def table_from_dataset(ds: xr.Dataset, *, prefix: str = "c") -> pd.DataFrame:
    """Inverse of :func:`table_to_dataset`."""
    columns = json.loads(ds.attrs[f"{prefix}columns"])
    data = {}
    for i in range(len(columns)):
        var = ds[f"{prefix}{i}"]
        values = var.values
        kind = var.attrs.get("kind")
        if kind == "bool":
            values = values.astype(bool)
        elif kind == "str":
            values = np.array([str(v) for v in values], dtype=object)
            null = f"{prefix}null{i}"
            if null in ds:
                values[ds[null].values.astype(bool)] = None
        data[i] = values
    frame = pd.DataFrame(data)
    frame.columns = columns
    n_index = int(ds.attrs.get(f"{prefix}n_index", 0))
    if n_index:
        frame = frame.set_index(columns[:n_index])
    return frame


def _canonical_tables(ladder: Ladder) -> dict[str, pd.DataFrame]:
    """Tidy tables with item and model names as text (the stored form)."""
    tables = ladder_to_tables(ladder)
    results = tables["results"].copy()
    results["item"] = results["item"].astype(str)
    results["model"] = results["model"].astype(str)
    tables["results"] = results
    if ladder.checkpoints is not None:
        tables["checkpoints"] = ladder.checkpoints.reset_index(drop=True)
    return tables


def _hash_tables(tables: Mapping[str, pd.DataFrame]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tables):
        digest.update(name.encode())
        text = tables[name].to_csv(index=False, lineterminator="\n", float_format=repr)
        digest.update(text.encode("utf-8"))
    return digest.hexdigest()


def data_hash(ladder: Ladder) -> str:
    """SHA-256 of a ladder's tidy tables (results, models, guess rates, checkpoints)."""
    return _hash_tables(_canonical_tables(ladder))


def _ladder_from_tables(tables: Mapping[str, pd.DataFrame], name: str | None) -> Ladder:
    """Rebuild a ladder, keeping the stored model and item order."""
    models = tables["models"].set_index("model")
    models.index = models.index.astype(str)
    order = list(models.index)
    results = tables["results"]
    guess = tables["benchmarks"].set_index("benchmark")["guess_rate"]
    benchmarks: dict[str, BenchmarkResults] = {}
    for bench in pd.unique(results["benchmark"]):
        frame = results[results["benchmark"] == bench]
        items = pd.Index(pd.unique(frame["item"]), name="item")
        scores = frame.pivot(index="item", columns="model", values="score")
        samples = frame.pivot(index="item", columns="model", values="samples")
        cols = [m for m in order if m in scores.columns]
        scores = scores.reindex(index=items, columns=cols)
        samples = samples.reindex(index=items, columns=cols).fillna(0).astype(np.int64)
        scores.columns.name = samples.columns.name = "model"
        rate = float(guess.get(bench, math.nan))
        benchmarks[str(bench)] = BenchmarkResults(
            str(bench), scores, samples, None if math.isnan(rate) else rate
        )
    checkpoints = tables.get("checkpoints")
    return Ladder(models=models, benchmarks=benchmarks, name=name, checkpoints=checkpoints)


# ============================================================================ clusters
_CB_ARRAYS = {
    "labels": ("item",),
    "compute": ("model",),
    "is_ladder": ("model",),
    "accuracy": ("cluster", "model"),
    "successes": ("cluster", "model"),
    "trials": ("cluster", "model"),
    "subset_score": ("model",),
    "full_score": ("model",),
}


def clustered_to_dataset(cb: ClusteredBenchmark) -> xr.Dataset:
    """A :class:`~codbayes.subset.ClusteredBenchmark` as a Dataset (exactly invertible).

    The cluster table is stored with :func:`table_to_dataset` (prefix ``cluster_``), the item
    names likewise (prefix ``item_``), the arrays under their attribute names.
    """
    ds = table_to_dataset(cb.clusters, "cluster", index=True, prefix="cluster_")
    items = pd.DataFrame({"item": np.asarray(cb.items)})
    ds = ds.merge(table_to_dataset(items, "item", prefix="item_"), combine_attrs="no_conflicts")
    ds["model_name"] = ("model", np.array([str(m) for m in cb.models], dtype=object))
    for name, dims in _CB_ARRAYS.items():
        value = np.asarray(getattr(cb, name))
        ds[name] = (dims, value.astype(np.int8) if value.dtype == bool else value)
    ds.attrs.update(
        benchmark=cb.benchmark,
        compute_unit=float(cb.compute_unit),
        guess_rate=math.nan if cb.guess_rate is None else float(cb.guess_rate),
        fallback="" if cb.fallback is None else cb.fallback,
        has_fallback=int(cb.fallback is not None),
        items_name="" if cb.items.name is None else str(cb.items.name),
    )
    return ds


def clustered_from_dataset(ds: xr.Dataset) -> ClusteredBenchmark:
    """Inverse of :func:`clustered_to_dataset`."""
    clusters = table_from_dataset(ds, prefix="cluster_")
    items = table_from_dataset(ds, prefix="item_")["item"].to_numpy()
    arrays = {name: np.asarray(ds[name].values) for name in _CB_ARRAYS}
    arrays["is_ladder"] = arrays["is_ladder"].astype(bool)
    guess = float(ds.attrs["guess_rate"])
    return ClusteredBenchmark(
        benchmark=str(ds.attrs["benchmark"]),
        items=pd.Index(items, name=ds.attrs.get("items_name") or None),
        models=[str(m) for m in ds["model_name"].values],
        compute_unit=float(ds.attrs["compute_unit"]),
        clusters=clusters,
        guess_rate=None if math.isnan(guess) else guess,
        fallback=str(ds.attrs["fallback"]) if int(ds.attrs["has_fallback"]) else None,
        **arrays,
    )


# ============================================================================ state codecs
def _mapping_to_dataset(mapping: SubsetMapping) -> xr.Dataset:
    return xr.Dataset(
        {"subset": ("pair", mapping.subset_), "full": ("pair", mapping.full_)},
        attrs={"tolerance": mapping.tolerance, "max_halvings": mapping.max_halvings},
    )


def _mapping_from_dataset(ds: xr.Dataset) -> SubsetMapping:
    mapping = SubsetMapping(
        tolerance=float(ds.attrs["tolerance"]), max_halvings=int(ds.attrs["max_halvings"])
    )
    return mapping.fit(ds["subset"].values, ds["full"].values)


def _tree_groups(tree: xr.DataTree) -> dict[str, xr.Dataset]:
    """The groups of a DataTree as ``{relative path: Dataset}`` (nodes with data or attrs)."""
    out = {}
    for node in tree.subtree:
        if node is tree:
            continue
        ds = node.to_dataset(inherit=False)
        if ds.data_vars or ds.coords or ds.attrs or not node.children:
            out[node.relative_to(tree)] = ds
    return out


def _fitted_attributes(predictor: Predictor) -> dict[str, Any]:
    return {k: v for k, v in vars(predictor).items() if k.endswith("_") and not k.startswith("_")}


def _is_dropped(value: Any) -> bool:
    """Objects rebuilt on demand rather than stored (the PyMC model)."""
    module = type(value).__module__.split(".")[0]
    return module in ("pymc", "pytensor")


def _tree_location(attr: str, rel: str) -> str:
    """Where group ``rel`` of DataTree attribute ``attr`` is stored in the file."""
    if attr == "idata_" and rel.split("/")[0] not in (_CLUSTERS_GROUP, _STATE_GROUP):
        return rel  # at the root, as ArviZ expects (fit_data included: its data, our children)
    return f"{_STATE_GROUP}/{attr}/{rel}"


def _encode_state(
    predictor: Predictor, path: str
) -> tuple[dict[str, xr.Dataset], dict[str, Any], dict[str, Any]]:
    """Groups, small JSON state and how every fitted attribute is stored.

    Returns
    -------
    groups : dict of str to xarray.Dataset
        File groups by path.
    small : dict
        JSON-able attributes.
    kinds : dict
        Per attribute its kind; DataTree attributes as ``{"kind": "tree", "groups": {group:
        stored path}}``.
    """
    groups: dict[str, xr.Dataset] = {}
    small: dict[str, Any] = {}
    kinds: dict[str, Any] = {}

    def keyed(base: str, values: Mapping[str, Any], encode: Any) -> None:
        for i, (key, item) in enumerate(values.items()):
            ds = encode(item)
            ds.attrs["key"] = str(key)
            groups[f"{base}/b{i}"] = ds

    for name, value in _fitted_attributes(predictor).items():
        if name == "ladder_" and isinstance(value, Ladder):
            kinds[name] = "ladder"
        elif isinstance(value, xr.DataTree):
            where = {rel: _tree_location(name, rel) for rel in _tree_groups(value)}
            groups.update({where[rel]: ds for rel, ds in _tree_groups(value).items()})
            kinds[name] = {"kind": "tree", "groups": where}
        elif _all_of(value, ClusteredBenchmark):
            kinds[name] = "clustered"
            base = _CLUSTERS_GROUP if name == "clustered_" else f"{_STATE_GROUP}/{name}"
            keyed(base, value, clustered_to_dataset)
        elif _all_of(value, SubsetMapping):
            kinds[name] = "mappings"
            keyed(f"{_STATE_GROUP}/{name}", value, _mapping_to_dataset)
        elif isinstance(value, pd.Series):
            kinds[name] = "series"
            frame = value.to_frame(name="value" if value.name is None else value.name)
            groups[f"{_STATE_GROUP}/{name}"] = table_to_dataset(frame, index=True)
        elif isinstance(value, pd.DataFrame):
            kinds[name] = "table"
            groups[f"{_STATE_GROUP}/{name}"] = table_to_dataset(value, index=True)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            kinds[name] = "array"
            dims = tuple(f"dim_{i}" for i in range(value.ndim))
            groups[f"{_STATE_GROUP}/{name}"] = xr.Dataset({"value": (dims, value)})
        elif hasattr(value, "to_dataset") and hasattr(type(value), "from_dataset"):
            kinds[name] = f"dataset:{type(value).__module__}:{type(value).__qualname__}"
            groups[f"{_STATE_GROUP}/{name}"] = value.to_dataset()
        elif _is_dropped(value):
            kinds[name] = "none"
        elif _is_jsonable(value):
            kinds[name] = "json"
            small[name] = value
        else:
            method = getattr(predictor, "name", type(predictor).__name__)
            raise InputError(
                f"cannot save a fitted {method!r} predictor: attribute {name!r} of type "
                f"{type(value).__name__} has no stored form",
                source=path,
            )
    return groups, small, kinds


def _all_of(value: Any, klass: type) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(v, klass) for v in value.values())
    )


def _keyed(tree: xr.DataTree, base: str, decode: Any) -> dict[str, Any]:
    children = sorted(tree[base].children.values(), key=lambda n: int(str(n.name)[1:]))
    return {str(n.attrs["key"]): decode(n.to_dataset(inherit=False)) for n in children}


def _decode_state(
    tree: xr.DataTree, kinds: Mapping[str, Any], small: Mapping[str, Any], ladder: Ladder
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        where = f"{_STATE_GROUP}/{name}"
        if isinstance(kind, Mapping) and kind.get("kind") == "tree":
            out[name] = xr.DataTree.from_dict(
                {
                    rel: tree[path].to_dataset(inherit=False).load()
                    for rel, path in kind["groups"].items()
                }
            )
        elif kind == "ladder":
            out[name] = ladder
        elif kind == "clustered":
            base = _CLUSTERS_GROUP if name == "clustered_" else where
            out[name] = _keyed(tree, base, clustered_from_dataset)
        elif kind == "mappings":
            out[name] = _keyed(tree, where, _mapping_from_dataset)
        elif kind == "series":
            out[name] = table_from_dataset(tree[where].to_dataset()).iloc[:, 0]
        elif kind == "table":
            out[name] = table_from_dataset(tree[where].to_dataset())
        elif kind == "array":
            out[name] = np.asarray(tree[where]["value"].values)
        elif isinstance(kind, str) and kind.startswith("dataset:"):
            module, qualname = kind.split(":", 2)[1:]
            klass = getattr(import_module(module), qualname)
            out[name] = klass.from_dataset(tree[where].to_dataset(inherit=False).load())
        elif kind == "none":
            out[name] = None
        elif kind == "json":
            out[name] = small[name]
        else:
            raise InputError(f"saved fit: unknown stored form {kind!r} of attribute {name!r}")
    return out


# ============================================================================ save / load
def _config(predictor: Predictor, name: str) -> Any:
    """The merged configuration (``<name>_``) if fitted, else the constructor's, JSON-able."""
    value = getattr(predictor, f"{name}_", None)
    if value is None:
        value = getattr(predictor, name, None)
    return value if value is not None and _is_jsonable(value) else None


def save_fit(predictor: Predictor, path: PathLike) -> Path:
    """Save a fitted predictor to one netCDF file (written atomically).

    Parameters
    ----------
    predictor : Predictor
        A fitted predictor (``cod-bayes``, ``cod-point``, ``e2e-*``; any predictor whose fitted
        attributes are ladders, posterior trees, clustered benchmarks, subset mappings, arrays,
        tables or JSON values).
    path : str or os.PathLike
        Target file (conventionally ``*.nc``); its folder must exist.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    codbayes.errors.InputError
        The predictor is not fitted or holds something without a stored form, its parameters are
        not JSON-serialisable, or the folder does not exist.
    """
    target = Path(path)
    name = getattr(predictor, "name", None)
    if name not in REGISTRY:
        raise InputError(f"cannot save a {type(predictor).__name__}: not a registered method",
                         source=str(target))  # fmt: skip
    ladder = getattr(predictor, "ladder_", None)
    if not isinstance(ladder, Ladder):
        raise InputError(f"the {name!r} predictor is not fitted; fit it before saving",
                         source=str(target))  # fmt: skip
    if not target.parent.is_dir():
        raise InputError("folder does not exist", source=str(target))
    try:
        params = _dumps(predictor.get_params())
    except TypeError as err:
        raise InputError(
            f"cannot save the {name!r} parameters: {err}", source=str(target)
        ) from None

    groups, small, kinds = _encode_state(predictor, str(target))
    tables = _canonical_tables(ladder)
    for key, frame in tables.items():
        groups[f"{_LADDER_GROUP}/{key}"] = table_to_dataset(frame)
    root = xr.Dataset(
        attrs={
            "format": FORMAT,
            "codbayes_schema_version": SCHEMA_VERSION,
            "codbayes_version": __version__,
            "method": name,
            "predictor_class": f"{type(predictor).__module__}:{type(predictor).__qualname__}",
            "params": params,
            "model_config": _dumps(_config(predictor, "model_config")),
            "sampler_config": _dumps(_config(predictor, "sampler_config")),
            "state": _dumps(small),
            "state_kinds": _dumps(kinds),
            "data_hash": _hash_tables(tables),
            "ladder_name": "" if ladder.name is None else str(ladder.name),
            "benchmarks": _dumps(list(ladder.benchmark_names)),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
    )
    tree = xr.DataTree.from_dict({"/": root, **groups})
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        try:
            tree.to_netcdf(tmp, engine=ENGINE, mode="w")
        except ImportError as err:
            raise InputError(f"saving fits needs h5py ({err}): pip install h5py",
                             source=str(target)) from None  # fmt: skip
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_fit_tree(path: PathLike) -> xr.DataTree:
    """Open a saved fit as an ``xarray.DataTree`` after checking it is a compatible codbayes file.

    Raises
    ------
    codbayes.errors.InputError
        Missing file, not a netCDF/HDF5 file, not a codbayes fit, or another schema version.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", source=str(p))
    if p.is_dir():
        raise InputError("is a directory, expected a saved fit (.nc)", source=str(p))
    try:
        tree = xr.open_datatree(p, engine=ENGINE)
    except ImportError as err:
        raise InputError(f"reading fits needs h5py ({err}): pip install h5py",
                         source=str(p)) from None  # fmt: skip
    except Exception as err:  # h5py / h5netcdf raise many types on a foreign file
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise InputError(
            f"not a codbayes fit file (cannot read it as netCDF/HDF5: {first})", source=str(p)
        ) from None
    attrs = tree.attrs
    if attrs.get("format") != FORMAT or "codbayes_schema_version" not in attrs:
        tree.close()
        raise InputError("not a codbayes fit file (no codbayes_schema_version attribute)",
                         source=str(p))  # fmt: skip
    version = int(attrs["codbayes_schema_version"])
    if version != SCHEMA_VERSION:
        tree.close()
        written = attrs.get("codbayes_version", "unknown")
        raise InputError(
            f"incompatible saved fit: schema version {version} (written by codbayes {written}), "
            f"this codbayes {__version__} reads schema version {SCHEMA_VERSION}; refit with "
            "'codbayes fit'",
            source=str(p),
        )
    return tree


def fit_info(path: PathLike) -> dict[str, Any]:
    """The root attributes of a saved fit, JSON fields decoded (method, params, configs, hash)."""
    tree = read_fit_tree(path)
    try:
        info = dict(tree.attrs)
    finally:
        tree.close()
    for key in ("params", "model_config", "sampler_config", "state", "state_kinds", "benchmarks"):
        if key in info:
            info[key] = json.loads(info[key])
    return info


def ladder_from_tree(tree: xr.DataTree, *, source: str = "fit") -> Ladder:
    """Rebuild the training ladder stored in a fit and check it against the stored hash."""
    if _LADDER_GROUP not in tree.children:
        raise InputError("saved fit has no fit_data group", source=source)
    node = tree[_LADDER_GROUP]
    tables = {
        key: table_from_dataset(child.to_dataset(inherit=False).load())
        for key, child in node.children.items()
        if key in _TABLES
    }
    if not {"results", "models", "benchmarks"} <= set(tables):
        raise InputError("saved fit lacks its training tables", source=source)
    tables["results"]["samples"] = tables["results"]["samples"].astype(np.int64)
    expected = tree.attrs.get("data_hash")
    if expected and _hash_tables(tables) != expected:
        raise InputError("training data do not match the stored data_hash (file corrupted or "
                         "edited)", source=source)  # fmt: skip
    return _ladder_from_tables(tables, tree.attrs.get("ladder_name") or None)


def _predictor_class(method: str) -> type[Predictor]:
    if method not in REGISTRY:
        raise InputError(f"saved fit is of unknown method {method!r}")
    module, cls = REGISTRY[method].split(":")
    return getattr(import_module(module), cls)


def load_fit(path: PathLike) -> Predictor:
    """Load a fit written by :func:`save_fit`: a fitted predictor, ready to ``predict``.

    The predictor is rebuilt from its stored constructor parameters and its fitted attributes
    are restored (nothing is refitted except subset mappings, which are deterministic).

    Raises
    ------
    codbayes.errors.InputError
        See :func:`read_fit_tree`; also when the stored training data fail their hash.
    """
    source = str(path)
    tree = read_fit_tree(path)
    try:
        attrs = tree.attrs
        klass = _predictor_class(str(attrs["method"]))
        params = json.loads(attrs["params"])
        try:
            predictor = klass(**params)
        except TypeError as err:
            raise InputError(f"saved parameters do not fit {klass.__name__}: {err}",
                             source=source) from None  # fmt: skip
        ladder = ladder_from_tree(tree, source=source)
        kinds = json.loads(attrs["state_kinds"])
        small = json.loads(attrs["state"])
        state = _decode_state(tree, kinds, small, ladder)
    finally:
        tree.close()
    for name, value in state.items():
        setattr(predictor, name, value)
    hook = getattr(predictor, "_after_load", None)
    if callable(hook):
        hook()
    return predictor


def as_predictor(source: Predictor | PathLike) -> Predictor:
    """A fitted predictor from itself or from the path of a saved fit."""
    if isinstance(source, str | os.PathLike):
        return load_fit(source)
    return source
