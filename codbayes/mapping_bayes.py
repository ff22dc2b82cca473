"""The Bayesian subset-to-full mapping, written once for numpy and pytensor.

COD maps the predictable-subset score ``s`` to the full-benchmark score with a monotone function
``f``.  codbayes writes the full score as the exact mixture

.. math:: f(s) = \\phi s + (1 - \\phi)\\, r(s),

where ``phi`` is the share of the benchmark's items in the predictable subset (known) and ``r`` is
the score on the *remaining* items (non-emergent and non-extrapolatable clusters, outliers,
all-zero items) as a function of the subset score.  Only ``r`` is learned; it is monotone
increasing, so ``f`` is too.  Modelling ``r`` instead of ``f`` makes the mapping's uncertainty
scale with the share of items outside the subset and makes shapes comparable across benchmarks,
so they can be pooled.

Two families for ``r`` (``kind``), each with *free* or *fixed* ends:

* ``"kumaraswamy"`` (default): ``r(s) = r_0 + (r_1 - r_0) K(s)`` with the Kumaraswamy CDF
  ``K(s) = 1 - (1 - s^p)^q`` (convex, concave or S-shaped; four parameters per benchmark:
  ``logit r_0``, ``logit((r_1 - r_0) / (1 - r_0))``, ``log p``, ``log q``).
* ``"bernstein"``: a monotone Bernstein polynomial of degree ``R``,
  ``r(s) = sum_k w_k C(R, k) s^k (1 - s)^(R - k)`` with non-decreasing weights (cumulative
  ``softmax`` increments).

*Fixed ends* are the paper's ``r(0) = 0`` and ``r(1) = 1`` (so ``f(0) = 0``, ``f(1) = 1``).
*Free ends* (codbayes' default) learn ``0 <= r(0) <= r(1) <= 1``: items outside the subset can be
solved before the subset is (non-emergent, already-solved clusters give ``r(0) > 0``; on simulated
paper-like ladders the rest score at the bottom rung is 0.03-0.64) and may never all be solved
(capped or noisy items give ``r(1) < 1``).

All functions use only operators numpy arrays and pytensor tensors share (pass ``exp`` and friends
of the right module where needed), as :func:`codbayes.laws.cod_law` does.
"""

from __future__ import annotations

from math import comb
from typing import Any

import numpy as np


def bernstein_basis(s: Any, degree: int) -> Any:
    """Bernstein basis polynomials of ``degree`` at ``s``.

    Parameters
    ----------
    s : array_like or TensorVariable
        Points in [0, 1], any shape.
    degree : int
        Polynomial degree ``R >= 1``.

    Returns
    -------
    array_like or TensorVariable
        Shape ``s.shape + (degree + 1,)``: ``B_k(s) = C(R, k) s^k (1 - s)^(R - k)``.

    Examples
    --------
    >>> bernstein_basis(np.array(0.5), 2).round(3).tolist()
    [0.25, 0.5, 0.25]
    """
    k = np.arange(degree + 1, dtype=float)
    binom = np.array([comb(degree, int(i)) for i in k], dtype=float)
    s = s[..., None]
    return binom * s**k * (1 - s) ** (degree - k)


def rest_curve(s: Any, weights: Any, degree: int | None = None) -> Any:
    """Score on the non-subset items, ``r(s) = sum_k w_k B_k(s)``.

    Parameters
    ----------
    s : array_like or TensorVariable
        Subset scores, shape ``(...)``.
    weights : array_like or TensorVariable
        Bernstein weights ``w_0 = 0 <= ... <= w_R = 1`` broadcastable to ``s.shape + (R + 1,)``.
    degree : int, optional
        ``R``; inferred from ``weights.shape`` for arrays (required for symbolic weights whose
        last dimension is not static).

    Returns
    -------
    array_like or TensorVariable
        ``r(s)``, same shape as ``s``.
    """
    if degree is None:
        degree = int(np.shape(weights)[-1]) - 1
    return (bernstein_basis(s, degree) * weights).sum(axis=-1)


def full_from_subset(s: Any, weights: Any, phi: Any, degree: int | None = None) -> Any:
    """Full-benchmark score ``f(s) = phi s + (1 - phi) r(s)``.

    Parameters
    ----------
    s : array_like or TensorVariable
        Subset scores.
    weights : array_like or TensorVariable
        Bernstein weights of ``r`` (see :func:`rest_curve`).
    phi : array_like or TensorVariable
        Share of items in the predictable subset, broadcastable to ``s``.
    degree : int, optional
        Bernstein degree (see :func:`rest_curve`).

    Returns
    -------
    array_like or TensorVariable
        Full score, monotone in ``s``, ``f(0) = 0``, ``f(1) = 1``.
    """
    return phi * s + (1 - phi) * rest_curve(s, weights, degree)


def weights_from_logits(
    z: Any,
    *,
    free_ends: bool = False,
    exp: Any = np.exp,
    cumsum: Any = np.cumsum,
    concatenate: Any = np.concatenate,
    zeros_like: Any = np.zeros_like,
) -> Any:
    """Monotone Bernstein weights in [0, 1] from free logits.

    Parameters
    ----------
    z : array_like or TensorVariable
        Free logits.  Fixed ends (``w_0 = 0``, ``w_R = 1``): shape ``(..., R - 1)``, the logits of
        the ``R`` increments with the first fixed at 0.  Free ends: shape ``(..., R + 1)``:
        ``logit w_0``, ``logit((w_R - w_0) / (1 - w_0))``, then the ``R - 1`` increment logits;
        the weights are ``w_0 + (w_R - w_0)`` times the fixed-end weights.
    free_ends : bool, default False
        Whether ``w_0 >= 0`` and ``w_R <= 1`` are free.
    exp, cumsum, concatenate, zeros_like : callable
        Module functions (numpy by default; pass the ``pytensor.tensor`` ones for symbolic use).

    Returns
    -------
    array_like or TensorVariable
        Weights, shape ``(..., R + 1)``, non-decreasing in [0, 1].

    Examples
    --------
    >>> weights_from_logits(np.zeros(3)).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> weights_from_logits(np.zeros(4), free_ends=True).round(3).tolist()
    [0.5, 0.583, 0.667, 0.75]
    """
    zero = zeros_like(z[..., 0][..., None])
    shape = z[..., 2:] if free_ends else z
    logits = concatenate([zero, shape], axis=-1)
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = exp(logits)
    inc = e / e.sum(axis=-1, keepdims=True)
    unit = concatenate([zero, cumsum(inc, axis=-1)], axis=-1)  # 0 = w_0 <= ... <= w_R = 1
    if not free_ends:
        return unit
    start = 1 / (1 + exp(-z[..., 0][..., None]))  # w_0 = r(0)
    end = start + (1 - start) / (1 + exp(-z[..., 1][..., None]))  # w_R = r(1)
    return start + (end - start) * unit


def _sigmoid(u: Any, exp: Any) -> Any:
    return 1 / (1 + exp(-u))


def kumaraswamy_rest(
    s: Any, z: Any, *, free_ends: bool = True, power: bool = False, module: Any = np
) -> Any:
    """Kumaraswamy rest curve ``r(s) = r_0 + (r_1 - r_0) (1 - (1 - s^p)^q)``.

    Parameters
    ----------
    s : array_like or TensorVariable
        Subset scores in [0, 1], shape ``(...)``.
    z : array_like or TensorVariable
        Parameters broadcastable to ``s.shape + (n,)``: ``logit r_0``,
        ``logit((r_1 - r_0) / (1 - r_0))`` (free ends only), ``log p``, ``log q`` (not for the
        power curve).
    free_ends : bool, default True
        Whether ``r_0`` and ``r_1`` are free (else ``0`` and ``1``).
    power : bool, default False
        The power curve ``q = 1``.
    module : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array_like or TensorVariable
        ``r(s)``, shape ``s.shape``.

    Examples
    --------
    >>> float(kumaraswamy_rest(np.array(0.5), np.zeros(2), free_ends=False))
    0.5
    """
    off = 2 if free_ends else 0
    p = module.exp(z[..., off])
    # s^p as exp(p log s), exactly 0 at s = 0, with finite gradients there
    positive = s > 0
    s_p = module.where(positive, module.exp(p * module.log(module.where(positive, s, 1.0))), 0.0)
    if power:
        shape = s_p
    else:
        q = module.exp(z[..., off + 1])
        below = s_p < 1
        shape = 1 - module.where(
            below, module.exp(q * module.log(module.where(below, 1 - s_p, 1.0))), 0.0
        )
    if not free_ends:
        return shape
    start = _sigmoid(z[..., 0], module.exp)
    end = start + (1 - start) * _sigmoid(z[..., 1], module.exp)
    return start + (end - start) * shape


def n_mapping_params(kind: str, degree: int, free_ends: bool) -> int:
    """Number of free mapping parameters per benchmark."""
    if kind == "kumaraswamy":
        return 4 if free_ends else 2
    if kind == "power":
        return 3 if free_ends else 1
    return degree + 1 if free_ends else degree - 1


def mapping_rest(
    s: Any,
    z: Any,
    *,
    kind: str = "kumaraswamy",
    degree: int = 5,
    free_ends: bool = True,
    module: Any = np,
) -> Any:
    """Rest curve ``r(s)`` from free parameters ``z`` of either family.

    Parameters
    ----------
    s : array_like or TensorVariable
        Subset scores, shape ``(...)``.
    z : array_like or TensorVariable
        Free parameters broadcastable to ``s.shape + (n,)``, ``n`` from :func:`n_mapping_params`.
    kind : {"kumaraswamy", "power", "bernstein"}
        Family of ``r`` (``"power"``: Kumaraswamy with ``q = 1``, ``r_0 + (r_1 - r_0) s^p``).
    degree : int, default 5
        Bernstein degree (``kind="bernstein"`` only).
    free_ends : bool, default True
        Free ``r(0)`` and ``r(1)`` (else the paper's ``0`` and ``1``).
    module : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array_like or TensorVariable
        ``r(s)``, shape ``s.shape``.
    """
    if kind in ("kumaraswamy", "power"):
        return kumaraswamy_rest(s, z, free_ends=free_ends, power=kind == "power", module=module)
    if kind != "bernstein":
        raise ValueError(f"unknown mapping kind {kind!r}")
    w = weights_from_logits(
        z,
        free_ends=free_ends,
        exp=module.exp,
        cumsum=module.cumsum,
        concatenate=module.concatenate,
        zeros_like=module.zeros_like,
    )
    return rest_curve(s, w, degree)


def rest_scores(full: np.ndarray, subset: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Observed score on the non-subset items, ``(full - phi * subset) / (1 - phi)``.

    NaN where ``phi == 1`` (no items outside the subset).
    """
    full, subset, phi = np.broadcast_arrays(*map(np.asarray, (full, subset, phi)))
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = (full - phi * subset) / (1 - phi)
    return np.where(phi < 1, rest, np.nan)
