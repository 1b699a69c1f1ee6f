"""Muennighoff et al. 2023's effective data / parameters and the capped allocation."""

import numpy as np
import pytest

from smallest_loss.laws import data_constrained as dc


def test_effective_data_limits():
    assert dc.effective_data(1e9, 5e8) == pytest.approx(5e8)          # first epoch: D' = D
    assert dc.effective_data(1e9, 1e9) == pytest.approx(1e9)
    assert dc.effective_data(1e9, 1e15) == pytest.approx(1e9 * (1 + dc.MUENNIGHOFF_R_D_STAR), rel=1e-6)
    r = 3.0
    assert dc.effective_data(1.0, 1 + r, R_D_star=2.0) == pytest.approx(1 + 2 * (1 - np.exp(-r / 2)))
    assert dc.effective_data([1e9, 2e9], 4e9).shape == (2,)


def test_effective_params():
    assert dc.effective_params(1e8, 5e7) == pytest.approx(5e7)
    assert dc.effective_params(1e8, 1e12) == pytest.approx(1e8 * (1 + dc.MUENNIGHOFF_R_N_STAR), rel=1e-6)


def test_readme_examples():
    # huggingface/datablations README, "Parametric Fit"
    law = dc.MUENNIGHOFF2023
    assert dc.data_constrained_loss(law, 6.34e9, 242e9, 25e9) == pytest.approx(2.2256440889984477, abs=1e-10)
    assert dc.data_constrained_loss(law, 8.67e9, 178e9, 25e9) == pytest.approx(2.2269634075087867, abs=1e-10)
    p = dc.plan_data_constrained(6 * 8.67e9 * 178e9, 25e9)
    assert p.params == pytest.approx(6.8e9, rel=0.01) and p.tokens == pytest.approx(227e9, rel=0.005)
    assert p.epochs == pytest.approx(9.1, abs=0.05)


def test_no_cap_is_chinchilla():
    from smallest_loss.laws import compute_optimal_allocation
    law = dc.MUENNIGHOFF2023
    p = dc.plan_data_constrained([1e21, 1e23], 1e30)
    ref = compute_optimal_allocation(law.base, [1e21, 1e23])
    np.testing.assert_allclose(p.params, ref.params, rtol=1e-4)
    np.testing.assert_allclose(p.loss, ref.loss, rtol=1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda: dc.effective_data(0, 1e9), "unique_tokens"),
    (lambda: dc.effective_data(1e9, -1), "tokens"),
    (lambda: dc.effective_data(1e9, 1e10, R_D_star=0), "R_D_star"),
    (lambda: dc.effective_params(1e8, np.nan), "params"),
    (lambda: dc.plan_data_constrained(1e21, 1e10, span=0.5), "span"),
    (lambda: dc.plan_data_constrained(-1, 1e10), "flops"),
    (lambda: dc.DataConstrainedLaw(base=dc.MUENNIGHOFF2023.base, R_D_star=-1, R_N_star=1), "R_D_star"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
