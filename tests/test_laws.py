"""The COD law: values, limits, inverse, numpy/pytensor agreement."""

import numpy as np
import pytensor.tensor as pt
import pytest

from codbayes.laws import LawParams, cod_law, inverse_cod_law


def test_law_known_values_and_limits():
    x = np.array([1.0, 10.0, 1e12])
    y = cod_law(x, 0.25, 2.0, 0.5, 0.1)
    assert y[0] == pytest.approx(0.25 + 0.75 * np.exp(-2.0 - 0.1))
    assert np.all(np.diff(y) > 0)  # increasing in compute
    assert y[-1] == pytest.approx(0.25 + 0.75 * np.exp(-0.1), abs=1e-3)  # ceiling
    assert LawParams(0.25, 2.0, 0.5, 0.1).ceiling == pytest.approx(0.25 + 0.75 * np.exp(-0.1))


def test_inverse_recovers_compute_and_flags_unreachable():
    params = (0.1, 3.0, 0.4, 0.2)
    x = np.array([0.5, 2.0, 50.0])
    y = cod_law(x, *params)
    np.testing.assert_allclose(inverse_cod_law(y, *params), x, rtol=1e-10)
    ceiling = LawParams(*params).ceiling
    assert np.isnan(inverse_cod_law(ceiling + 0.01, *params))
    assert np.isnan(inverse_cod_law(0.05, *params))  # below the guess level


def test_numpy_and_pytensor_versions_agree():
    x = np.geomspace(1, 3000, 7)
    sym = pt.dvector("x")
    expr = cod_law(sym, 0.02, 4.0, 0.3, 0.05, exp=pt.exp)
    np.testing.assert_allclose(expr.eval({sym: x}), cod_law(x, 0.02, 4.0, 0.3, 0.05), rtol=1e-12)
