"""Refit of R_D*, R_N* and E: recovery from synthetic runs, bootstrap, bad input."""

import numpy as np
import pytest

from smallest_loss.fit import data_constrained as fdc
from smallest_loss.laws import data_constrained as dc


def _runs(r_d=10.0, r_n=4.0, e=2.1, noise=0.0, seed=0):
    b = dc.MUENNIGHOFF2023.base
    law = dc.DataConstrainedLaw(base=dc.ChinchillaLaw(E=e, A=b.A, B=b.B, alpha=b.alpha, beta=b.beta),
                                R_D_star=r_d, R_N_star=r_n)
    n = np.repeat([2.8e9, 4.2e9, 8.7e9], 8)
    d = n * 20
    u = d / np.tile([1, 2, 3, 4, 5, 7, 14, 44], 3)
    loss = dc.data_constrained_loss(law, n, d, u)
    loss = loss * np.exp(noise * np.random.default_rng(seed).standard_normal(loss.shape))
    return n, d, u, loss


def test_recovers_known_constants():
    fit = fdc.fit_data_constrained(*_runs())
    assert fit.R_D_star == pytest.approx(10.0, rel=1e-3)
    assert fit.R_N_star == pytest.approx(4.0, rel=1e-3)
    assert fit.E == pytest.approx(2.1, abs=1e-4)
    assert fit.rms_log < 1e-6 and fit.n_points == 24
    assert fit.law.R_D_star == fit.R_D_star


def test_bootstrap_covers_truth():
    runs = _runs(noise=0.003)
    boot = fdc.bootstrap_data_constrained(*runs, n_bootstrap=15, seed=1)
    lo, hi = boot.ci("R_D_star", 0.95)
    assert boot.n_bootstrap == 15 and lo < hi
    assert lo < 10.0 * 1.5 and hi > 10.0 / 1.5
    again = fdc.bootstrap_data_constrained(*runs, n_bootstrap=15, seed=1)
    np.testing.assert_array_equal(boot.R_D_star, again.R_D_star)


def test_bad_input():
    n, d, u, lo = _runs()
    with pytest.raises(ValueError, match="loss"):
        fdc.fit_data_constrained(n, d, u, np.r_[lo[:-1], -1.0])
    with pytest.raises(ValueError, match="length mismatch"):
        fdc.fit_data_constrained(n, d, u[:-1], lo)
    with pytest.raises(ValueError, match="epoch counts"):
        fdc.fit_data_constrained(n, d, d, lo)
    with pytest.raises(ValueError, match="groups"):
        fdc.bootstrap_data_constrained(n, d, u, lo, groups=[1, 2])
    boot = fdc.bootstrap_data_constrained(n, d, u, lo, n_bootstrap=2)
    with pytest.raises(ValueError, match="name"):
        boot.ci("alpha")


def test_unbounded_constant_sits_at_the_search_edge():
    # With (practically) no cost of repetition in the data, nothing bounds R_D* from above:
    # the fit must report the upper end of the search range, not an interior number.
    n, d, u, loss = _runs(r_d=1e8)
    fit = fdc.fit_data_constrained(n, d, u, loss)
    assert fdc.R_STAR_BOUNDS == (0.01, 1e4)
    assert fit.R_D_star == pytest.approx(fdc.R_STAR_BOUNDS[1], rel=1e-6)
