"""Running PyMC reproducibly: the same model, data and seed give the same draws, always.

PyTensor compiles a model's functions with numba, by default with ``fastmath``.  With it, a
function compiled afresh and the same function loaded from numba's on-disk cache differ in the
last bits of their floating-point results, and NUTS trajectories amplify that: the first fit of a
new model on a machine gave other draws than every later fit with the same seed (a two-benchmark
test fit: max R-hat 1.017 on the first run, 1.023 on every later one, 1.042 with the cache off).
With ``fastmath`` off, fresh, cached and uncached compilation give identical draws; compiling and
sampling the paper-scale model took 47.6 s instead of 42.9 s (``benchmarks/bench_bayes_speed.py``).

Every PyMC call of the package that compiles a model goes through :func:`reproducible`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

__all__ = ["reproducible"]


@contextlib.contextmanager
def reproducible() -> Iterator[None]:
    """Compile without numba ``fastmath`` and without PyTensor's object-mode chatter."""
    import pytensor

    with pytensor.config.change_flags(numba__fastmath=False), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*object mode.*")
        yield
