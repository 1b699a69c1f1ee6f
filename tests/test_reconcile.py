"""Tests for smallest_loss.reconcile (chapter 5: Kaplan et al. 2020 versus Hoffmann et al. 2022)."""

from __future__ import annotations

import numpy as np
import pytest

from smallest_loss.fit import approach2
from smallest_loss import reconcile as rc
from smallest_loss.laws import BESIROGLU2024, HOFFMANN2022, compute_optimal_allocation

BUDGETS = np.geomspace(1e17, 1e20, 7)


# --- estimators on isoFLOP data -------------------------------------------------------------------


def test_local_window_keeps_best_size_and_neighbours():
    n = np.array([1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4], float) * 1e6
    c = np.array([1e18] * 7 + [2e18] * 4)
    y = np.array([5, 4, 3, 2.5, 2.6, 3, 4, 3, 2, 2.5, 3.5])
    keep = rc.local_window(n, c, y, n_neighbours=2)
    np.testing.assert_array_equal(keep[:7], [False, True, True, True, True, True, False])
    np.testing.assert_array_equal(keep[7:], [True, True, True, True])
    keep1 = rc.local_window(n, c, y, n_neighbours=1)
    assert keep1[:7].sum() == 3 and keep1[3] and keep1[2] and keep1[4]


def test_local_window_counts_sizes_not_runs():
    n = np.array([1, 1, 2, 3, 4, 5], float)
    y = np.array([3.0, 3.1, 2.0, 2.5, 3.0, 4.0])
    keep = rc.local_window(n, np.full(6, 1e18), y, n_neighbours=1)
    np.testing.assert_array_equal(keep, [True, True, True, True, False, False])


def test_local_window_keeps_three_sizes_at_an_edge():
    n = np.array([1, 2, 3, 4, 5], float)
    keep = rc.local_window(n, np.full(5, 1e18), [2.0, 2.5, 3.0, 3.5, 4.0], n_neighbours=1)
    np.testing.assert_array_equal(keep, [True, True, True, False, False])
    keep = rc.local_window(n, np.full(5, 1e18), [4.0, 3.5, 3.0, 2.5, 2.0], n_neighbours=1)
    np.testing.assert_array_equal(keep, [False, False, True, True, True])


def test_local_window_rejects_bad_neighbours():
    with pytest.raises(ValueError, match="n_neighbours"):
        rc.local_window([1, 2, 3], [1, 1, 1], [1, 0, 1], n_neighbours=0)


def _law_grid(half_dex=1.0, n_sizes=9):
    n, c, y = [], [], []
    for cb in BUDGETS:
        opt = float(compute_optimal_allocation(HOFFMANN2022, cb).params)
        grid = opt * 10 ** np.linspace(-half_dex, half_dex, n_sizes)
        n += list(grid)
        c += [cb] * n_sizes
        y += list(HOFFMANN2022.loss_at_compute(grid, cb))
    return np.array(n), np.array(c), np.array(y)


def test_local_parabola_is_less_biased_than_the_wide_parabola_on_an_asymmetric_law():
    n, c, y = _law_grid(half_dex=1.5, n_sizes=13)
    wide = approach2.fit_approach2(n, c, y)
    keep = rc.local_window(n, c, y, n_neighbours=2)
    local = approach2.fit_approach2(n[keep], c[keep], y[keep])
    err_wide = np.abs(np.log(wide.optima.params_opt / compute_optimal_allocation(HOFFMANN2022, BUDGETS).params))
    err_local = np.abs(np.log(local.optima.params_opt / compute_optimal_allocation(HOFFMANN2022, BUDGETS).params))
    assert err_local.max() < 0.25 * err_wide.max()
    assert local.a == pytest.approx(HOFFMANN2022.a, abs=2e-3)


def test_akima_optima_recover_the_law_minimum():
    n, c, y = _law_grid(half_dex=1.0, n_sizes=9)
    opt = rc.akima_isoflop_optima(n, c, y, points_per_interval=200)
    assert list(opt.columns) == list(rc.AKIMA_COLUMNS)
    truth = compute_optimal_allocation(HOFFMANN2022, BUDGETS).params
    np.testing.assert_allclose(opt.params_opt, truth, rtol=0.03)
    assert opt.valid.all()
    a, _ = rc.compute_optimal_exponent(opt.flops, opt.params_opt)
    assert a == pytest.approx(HOFFMANN2022.a, abs=5e-3)


def test_akima_flags_a_minimum_at_the_edge():
    n = np.array([1e6, 2e6, 4e6, 8e6])
    opt = rc.akima_isoflop_optima(n, np.full(4, 1e18), [4.0, 3.5, 3.2, 3.0])
    assert not opt.valid.iloc[0]
    with pytest.raises(ValueError, match="at least 3 distinct"):
        rc.akima_isoflop_optima([1e6, 1e6, 2e6], [1e18] * 3, [3.0, 3.1, 2.9])


def test_compute_optimal_exponent_weighted():
    c = np.geomspace(1e17, 1e20, 6)
    n = 0.3 * c**0.61
    n_off = n.copy()
    n_off[-1] *= 2.0                                  # one optimum far off the line
    a_plain, _ = rc.compute_optimal_exponent(c, n_off)
    a_down, _ = rc.compute_optimal_exponent(c, n_off, [0.1] * 5 + [100.0])   # that one barely counts
    assert abs(a_down - 0.61) < 1e-4 < abs(a_plain - 0.61)
    assert rc.compute_optimal_exponent(c, n, np.full(6, 0.3))[0] == pytest.approx(0.61, abs=1e-12)
    with pytest.raises(ValueError, match="log_sd"):
        rc.compute_optimal_exponent(c, n, [0.1, 0.1, 0.0, 0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="log_sd"):
        rc.compute_optimal_exponent(c, n, [0.1, 0.1])


def test_compute_optimal_exponent_exact_and_errors():
    c = np.geomspace(1e18, 1e22, 5)
    a, k = rc.compute_optimal_exponent(c, 0.3 * c**0.61)
    assert a == pytest.approx(0.61, abs=1e-12) and k == pytest.approx(0.3, rel=1e-9)
    with pytest.raises(ValueError, match="2 distinct"):
        rc.compute_optimal_exponent([1e18, 1e18], [1.0, 2.0])
    with pytest.raises(ValueError, match="params_opt"):
        rc.compute_optimal_exponent([1e18, 1e19], [1.0, -2.0])


def test_step_shares():
    s = rc.step_shares([0.83, 0.70, 0.60, 0.57, 0.50])
    assert s.sum() == pytest.approx(1.0)
    assert s[0] == pytest.approx(0.13 / 0.33)
    with pytest.raises(ValueError, match="equal"):
        rc.step_shares([0.5, 0.6, 0.5])


# --- Pearce & Song ---------------------------------------------------------------------------------


def test_total_from_non_embedding_and_validation():
    assert rc.total_from_non_embedding(1e9, 5e4)[()] == pytest.approx(1e9 + 5e4 * 1e3)
    with pytest.raises(ValueError, match="gamma"):
        rc.total_from_non_embedding(1e9, 0.0)
    with pytest.raises(ValueError, match="n_nonemb"):
        rc.total_from_non_embedding([1e9, -1], 5e4)


def test_fit_embedding_gamma_recovers_a_known_gamma():
    n = np.geomspace(1e7, 1e10, 20)
    assert rc.fit_embedding_gamma(rc.total_from_non_embedding(n, 47491.0), n) == pytest.approx(47491.0, rel=1e-6)
    rng = np.random.default_rng(0)
    noisy = n + 52000.0 * np.cbrt(n) * np.exp(rng.normal(0, 0.05, n.size))
    assert rc.fit_embedding_gamma(noisy, n) == pytest.approx(52000.0, rel=0.05)


def test_fit_embedding_gamma_errors():
    with pytest.raises(ValueError, match=r"total_params\[1\]"):
        rc.fit_embedding_gamma([2e7, 1e7], [1e6, 2e7])
    with pytest.raises(ValueError, match="at least 2"):
        rc.fit_embedding_gamma([2e7], [1e6])


def test_frontier_without_embeddings_is_hoffmanns_closed_form():
    n = np.geomspace(1e6, 1e11, 11)
    for compute in ("non_embedding", "total"):
        fr = rc.non_embedding_frontier(HOFFMANN2022, n, 1e-9, compute)
        np.testing.assert_allclose(compute_optimal_allocation(HOFFMANN2022, fr.flops).params, n, rtol=1e-9)


@pytest.mark.parametrize("law", [HOFFMANN2022, BESIROGLU2024])
@pytest.mark.parametrize("compute", ["non_embedding", "total"])
def test_optimum_matches_brute_force(law, compute):
    gamma = 53000.0
    grid = np.geomspace(1e2, 1e12, 400_001)
    nt = rc.total_from_non_embedding(grid, gamma)
    for c in (1e14, 1e18, 1e21):
        d = c / (6.0 * (grid if compute == "non_embedding" else nt))
        brute = grid[np.argmin(law.loss(nt, d))]
        exact = rc.non_embedding_optimal_params(law, c, gamma, compute)
        assert float(exact) == pytest.approx(brute, rel=2e-4)


def test_total_convention_gives_chinchilla_in_total_parameters():
    c = np.geomspace(1e15, 1e23, 9)
    n = rc.non_embedding_optimal_params(HOFFMANN2022, c, 47491.0, "total")
    np.testing.assert_allclose(rc.total_from_non_embedding(n, 47491.0),
                               compute_optimal_allocation(HOFFMANN2022, c).params, rtol=1e-9)


@pytest.mark.parametrize("compute", ["non_embedding", "total"])
def test_local_exponent_analytic_equals_numerical_and_limits(compute):
    n = np.geomspace(1e-2, 1e16, 4001)
    fr = rc.non_embedding_frontier(BESIROGLU2024, n, 47491.0, compute)
    numerical = approach2.local_exponent(np.log(fr.flops), np.log(n))
    analytic = rc.non_embedding_local_exponent(BESIROGLU2024, n, 47491.0, compute)
    np.testing.assert_allclose(analytic[1:-1], numerical[1:-1], atol=1e-5)
    small, large = rc.local_exponent_limits(BESIROGLU2024, compute)
    assert analytic[0] == pytest.approx(small, abs=1e-3)
    assert analytic[-1] == pytest.approx(large, abs=1e-3)


def test_pearce_song_simulated_exponents():
    # Pearce & Song 2024, Sec. 3 (and their script's settings, gamma = 47491, C in 10^12.95..10^20.7):
    # N*_nonemb ∝ C^0.74 with Hoffmann's unrounded constants and C^0.78 with Besiroglu et al.'s.
    chin = rc.kaplan_range_exponent(HOFFMANN2022, rc.PEARCE2024_GAMMA, flops_range=rc.PEARCE2024_FLOPS_RANGE)
    epoch = rc.kaplan_range_exponent(BESIROGLU2024, rc.PEARCE2024_GAMMA, flops_range=rc.PEARCE2024_FLOPS_RANGE)
    assert chin.a == pytest.approx(0.74, abs=0.006) and epoch.a == pytest.approx(0.78, abs=0.006)
    by_size = rc.kaplan_range_exponent(HOFFMANN2022, rc.PEARCE2024_GAMMA)
    assert by_size.params_range == pytest.approx(rc.KAPLAN2020_PARAMS_RANGE, rel=1e-6)


def test_kaplan_range_exponent_errors():
    with pytest.raises(ValueError, match="compute"):
        rc.kaplan_range_exponent(HOFFMANN2022, 5e4, compute="mixed")
    with pytest.raises(ValueError, match="params_range or flops_range"):
        rc.kaplan_range_exponent(HOFFMANN2022, 5e4, params_range=None)
    with pytest.raises(ValueError, match="empty"):
        rc.kaplan_range_exponent(HOFFMANN2022, 5e4, flops_range=(1e20, 1e18))
    with pytest.raises(ValueError, match="outside"):
        rc.non_embedding_optimal_params(HOFFMANN2022, 1e60, 5e4)


# --- schedule model --------------------------------------------------------------------------------


def test_cosine_lr_fraction():
    np.testing.assert_allclose(rc.cosine_lr_fraction([0, 0.5, 1, 2], 0.1), [1, 0.55, 0.1, 0.1])
    with pytest.raises(ValueError, match="progress"):
        rc.cosine_lr_fraction([-0.1])
    with pytest.raises(ValueError, match="final_fraction"):
        rc.cosine_lr_fraction([0.1], 1.0)


@pytest.mark.parametrize("penalty", ["additive", "data_term"])
def test_mid_schedule_loss_endpoints(penalty):
    n, d = 1e8, 2e9
    end = rc.mid_schedule_loss(HOFFMANN2022, n, d, d, 0.1, penalty, final_fraction=0.1)
    assert float(end) == pytest.approx(float(HOFFMANN2022.loss(n, d)), abs=1e-12)
    start = rc.mid_schedule_loss(HOFFMANN2022, n, d, 1e30, 0.1, penalty)
    extra = 0.1 if penalty == "additive" else 0.1 * HOFFMANN2022.B * d**-HOFFMANN2022.beta
    assert float(start - HOFFMANN2022.loss(n, d)) == pytest.approx(extra, rel=1e-9)


def test_mid_schedule_loss_errors():
    with pytest.raises(ValueError, match="exceeds horizon_tokens"):
        rc.mid_schedule_loss(HOFFMANN2022, 1e8, 2e9, 1e9, 0.1)
    with pytest.raises(ValueError, match="penalty"):
        rc.mid_schedule_loss(HOFFMANN2022, 1e8, 1e9, 2e9, 0.1, "other")
    with pytest.raises(ValueError, match="kappa"):
        rc.mid_schedule_loss(HOFFMANN2022, 1e8, 1e9, 2e9, -1.0)


def test_grid_isoflop_optima_recovers_the_closed_form():
    grid = np.geomspace(1e6, 1e12, 3001)
    n = rc.grid_isoflop_optima(HOFFMANN2022.loss, BUDGETS, grid)
    np.testing.assert_allclose(n, compute_optimal_allocation(HOFFMANN2022, BUDGETS).params, rtol=1e-4)
    with pytest.raises(ValueError, match="edge"):
        rc.grid_isoflop_optima(HOFFMANN2022.loss, [1e30], grid)


def test_no_penalty_means_no_bias_and_a_budget_independent_penalty_keeps_the_exponent():
    grid = np.geomspace(1e6, 1e12, 3001)

    def per_budget(k):
        # horizon proportional to each budget's tokens: every run of a budget is read at the same s
        def loss(n, d):
            return rc.mid_schedule_loss(HOFFMANN2022, n, d, 2.0 * d, k, "additive")
        return loss

    a0, _ = rc.compute_optimal_exponent(BUDGETS, rc.grid_isoflop_optima(per_budget(0.0), BUDGETS, grid))
    a1, _ = rc.compute_optimal_exponent(BUDGETS, rc.grid_isoflop_optima(per_budget(0.2), BUDGETS, grid))
    assert a0 == pytest.approx(HOFFMANN2022.a, abs=1e-4) and a1 == pytest.approx(a0, abs=1e-4)
