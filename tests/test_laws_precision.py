"""Kumar et al. 2024's functional forms (laws.precision): the closed forms against numerics."""

import numpy as np
import pytest

from smallest_loss.laws import HOFFMANN2022
from smallest_loss.laws import precision as pr

PTQ = dict(C_T=1.0, gamma_D=0.5, gamma_N=0.5, gamma_post=1.0)  # illustrative constants


def test_effective_params_limits():
    assert pr.effective_params(1e9) == pytest.approx(1e9)
    n = pr.effective_params(1e9, 4, gamma_w=2.0)
    assert n == pytest.approx(1e9 * (1 - np.exp(-2.0)))
    both = pr.effective_params(1e9, 4, 4, 4, gamma_w=2.0, gamma_a=2.0, gamma_kv=2.0)
    assert both == pytest.approx(1e9 * (1 - np.exp(-2.0)) ** 3)


def test_ptq_degradation_grows_with_data_and_shrinks_with_size_and_bits():
    d = pr.ptq_degradation(1e9, [1e10, 1e11], 4, **PTQ)
    assert d[1] / d[0] == pytest.approx(10 ** 0.5)
    assert pr.ptq_degradation(4e9, 1e10, 4, **PTQ) == pytest.approx(d[0] / 2)
    assert pr.ptq_degradation(1e9, 1e10, 5, **PTQ) == pytest.approx(d[0] / np.e)


def test_tokens_minimising_ptq_loss_matches_grid_minimum():
    for n, bits in [(1e8, 3.0), (1e9, 4.0), (1e10, 6.0)]:
        d_star = float(pr.tokens_minimising_ptq_loss(HOFFMANN2022, n, bits, **PTQ))
        grid = np.geomspace(d_star / 100, d_star * 100, 20001)
        loss = pr.loss_with_ptq(HOFFMANN2022, n, grid, bits, **PTQ)
        assert grid[np.argmin(loss)] == pytest.approx(d_star, rel=1e-3)


def test_compute_optimal_precision():
    # equal sensitivities: e^x - 1 = 3x, x = 1.904 gamma
    x = pr.compute_optimal_precision([1.0, 1.0, 1.0])
    assert np.expm1(x) == pytest.approx(3 * x, rel=1e-9) and x == pytest.approx(1.904, abs=1e-3)
    assert pr.compute_optimal_precision([2.5] * 3) == pytest.approx(2.5 * x)
    # numerically: the minimiser of P / prod(1 - e^-P/g)
    g = np.array([3.0, 2.0, 1.0])
    p = np.linspace(0.5, 20, 200001)
    ratio = p / np.prod(-np.expm1(-p[:, None] / g), axis=1)
    assert pr.compute_optimal_precision(g) == pytest.approx(p[np.argmin(ratio)], abs=1e-3)


def test_sensitivity_for_optimal_precision_inverts_the_optimum():
    x = pr.compute_optimal_precision([1.0, 1.0, 1.0])
    for bits in (7.0, 8.0):
        g = pr.sensitivity_for_optimal_precision(bits)
        assert g == pytest.approx(bits / x, rel=1e-12)
        assert pr.compute_optimal_precision([g] * 3) == pytest.approx(bits, rel=1e-9)
    assert pr.sensitivity_for_optimal_precision(7.0) == pytest.approx(3.6768, abs=1e-3)
    two = pr.compute_optimal_precision([1.0, 1.0])
    assert pr.sensitivity_for_optimal_precision(5.0, parts=2) == pytest.approx(5.0 / two)


def test_fixed_cost_optimum_is_independent_of_alpha_beta_and_budget():
    """Kumar et al.'s Sec. 4.3.2: with all parts in P bits and C = (6/16) N D P the optimal P does
    not depend on C; the stationarity conditions also remove alpha and beta: P* = x* gamma."""
    from smallest_loss.laws.chinchilla import ChinchillaLaw
    x = pr.compute_optimal_precision([1.0] * 3)
    for alpha, beta in [(0.34, 0.28), (0.5, 0.5), (0.7, 0.3)]:
        law = ChinchillaLaw(E=1.7, A=400.0, B=400.0, alpha=alpha, beta=beta)
        for flops in (1e20, 1e23):
            bits, _ = pr.optimum_at_fixed_cost(law, flops, [2.0] * 3, np.linspace(2.0, 9.0, 701),
                                               np.geomspace(1e6, 1e13, 1401))
            assert bits == pytest.approx(2.0 * x, abs=0.01)   # one grid step
    assert pr.KUMAR2024_COST_FLOPS_PER_PARAM_TOKEN_BIT * 16 == 6.0


def test_bits_for_factor_inverts_the_precision_factor():
    b = pr.bits_for_factor(0.99, 1.5)
    assert b == pytest.approx(1.5 * np.log(100))
    assert float(pr.precision_factor(b, 1.5)) == pytest.approx(0.99, rel=1e-12)


def test_loss_low_precision_training_limits():
    law = HOFFMANN2022
    hi = pr.loss_low_precision_training(law, 1e9, 2e10, 64.0, [2.0, 2.0, 2.0])
    assert hi == pytest.approx(float(law.loss(1e9, 2e10)), rel=1e-9)
    four = pr.loss_low_precision_training(law, 1e9, 2e10, 4.0, [2.0])
    neff = float(pr.effective_params(1e9, 4.0, gamma_w=2.0))
    assert four == pytest.approx(float(law.loss(neff, 2e10)), rel=1e-12)


@pytest.mark.parametrize("call, word", [
    (lambda: pr.sensitivity_for_optimal_precision(0.0), "bits"),
    (lambda: pr.bits_for_factor(1.0, 2.0), "fraction"),
    (lambda: pr.bits_for_factor(0.99, 0.0), "gamma"),
    (lambda: pr.optimum_at_fixed_cost(HOFFMANN2022, -1.0, [2.0], [4.0], [1e9]), "flops"),
    (lambda: pr.sensitivity_for_optimal_precision(7.0, parts=1), "parts"),
    (lambda: pr.sensitivity_for_optimal_precision(7.0, parts=2.5), "parts"),
    (lambda: pr.loss_low_precision_training(HOFFMANN2022, 1e9, 1e10, 4.0, []), "gammas"),
    (lambda: pr.loss_low_precision_training(HOFFMANN2022, 1e9, 1e10, 0.0, [1.0]), "bits"),
    (lambda: pr.precision_factor(0, 1.0), "bits"),
    (lambda: pr.precision_factor(4, -1.0), "gamma"),
    (lambda: pr.ptq_degradation(-1, 1e9, 4, **PTQ), "params"),
    (lambda: pr.ptq_degradation(1e9, 1e9, 4, **{**PTQ, "C_T": 0}), "C_T"),
    (lambda: pr.compute_optimal_precision([2.0]), "gammas"),
    (lambda: pr.compute_optimal_precision([2.0, float("nan")]), "gammas"),
])
def test_bad_input(call, word):
    with pytest.raises(ValueError) as err:
        call()
    assert word in str(err.value) and "\n" not in str(err.value)
