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


@pytest.mark.parametrize("call, word", [
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
