import numpy as np
import pytest

from smallest_loss.costs import spot


def test_young_daly_is_sqrt_two_delta_mtbf():
    # Young 1974: T_c = sqrt(2 T_s T_f) with T_f = 1/lambda the mean time between failures
    assert spot.young_daly_interval(0.1, 0.05) == pytest.approx(np.sqrt(2 * 0.1 * 20.0))
    out = spot.young_daly_interval([0.02, 0.5], [0.1, 0.01])
    np.testing.assert_allclose(out, np.sqrt(2 * np.array([0.02, 0.5]) / np.array([0.1, 0.01])))


def test_exact_interval_matches_brute_force_minimum():
    for delta, rate, restart in [(0.05, 0.1, 0.25), (0.2, 1.0, 0.0), (0.01, 0.002, 1.0), (1.0, 0.5, 0.1)]:
        tau = np.geomspace(1e-3, 1e3, 400_001)
        cost = spot.wall_hours_per_useful_hour(tau, delta, rate, restart)
        brute = tau[np.argmin(cost)]
        exact = spot.optimal_checkpoint_interval(delta, rate)
        assert exact == pytest.approx(brute, rel=1e-4)
        # the closed form is the minimum, not just near it
        assert spot.wall_hours_per_useful_hour(exact, delta, rate, restart) <= cost.min() * (1 + 1e-12)


def test_exact_interval_approaches_young_when_checkpoints_are_cheap():
    delta, rate = 1e-4, 0.01          # r delta = 1e-6: first order is accurate
    assert spot.optimal_checkpoint_interval(delta, rate) == pytest.approx(
        spot.young_daly_interval(delta, rate), rel=2e-3)
    # and is shorter than Young's when r delta is not small
    assert spot.optimal_checkpoint_interval(0.5, 0.5) < spot.young_daly_interval(0.5, 0.5)


def test_series_branch_is_continuous():
    r = 1.0
    a = np.array([0.9e-10, 1.1e-10])
    tau = spot.optimal_checkpoint_interval(a / r, r)
    np.testing.assert_allclose(tau, np.sqrt(2 * a) - 2 * a / 3, rtol=1e-6)


def test_expected_wall_time_by_simulation():
    rng = np.random.default_rng(0)
    tau, delta, rate, restart = 1.0, 0.1, 0.3, 0.2
    s = tau + delta
    total = 0.0
    n = 40_000
    for _ in range(n):
        while True:
            t = rng.exponential(1 / rate)
            if t >= s:
                total += s
                break
            total += t + restart
    simulated = total / n / tau
    assert spot.wall_hours_per_useful_hour(tau, delta, rate, restart) == pytest.approx(simulated, rel=0.01)


def test_no_preemptions_gives_one_minus_discount():
    assert spot.spot_cost_factor(0.7, 0.0, 0.1, 0.5) == pytest.approx(0.3)
    np.testing.assert_allclose(spot.spot_cost_factor([0.0, 0.6], 0.0, 0.1), [1.0, 0.4])
    assert spot.optimal_checkpoint_interval(0.1, 0.0) == np.inf
    assert spot.wall_hours_per_useful_hour(2.0, 0.5, 0.0) == pytest.approx(1.25)


def test_cost_factor_is_monotone_in_rate_and_restart():
    rates = np.geomspace(1e-4, 10, 200)
    f = spot.spot_cost_factor(0.6, rates, 0.05, 0.25)
    assert np.all(np.diff(f) > 0)
    assert f[0] == pytest.approx(0.4, rel=1e-2)
    assert spot.spot_cost_factor(0.6, 0.2, 0.05, 1.0) > spot.spot_cost_factor(0.6, 0.2, 0.05, 0.1)


def test_breakeven_rate_makes_factor_one():
    r = spot.spot_breakeven_preemptions_per_hour([0.3, 0.6, 0.9], 0.05, 0.25)
    np.testing.assert_allclose(spot.spot_cost_factor([0.3, 0.6, 0.9], r, 0.05, 0.25), 1.0, rtol=1e-8)
    assert np.all(np.diff(r) > 0)          # a deeper discount tolerates more preemptions
    assert spot.spot_breakeven_preemptions_per_hour(0.0, 0.05) == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: spot.spot_cost_factor(1.0, 0.1, 0.1), r"discount = 1\.0 is outside \[0, 1\)"),
    (lambda: spot.spot_cost_factor(-0.1, 0.1, 0.1), r"discount = -0\.1 is outside"),
    (lambda: spot.spot_cost_factor(0.5, -1.0, 0.1), r"preemptions_per_hour = -1\.0 is not a finite number >= 0"),
    (lambda: spot.spot_cost_factor(0.5, 0.1, 0.0), r"checkpoint_hours = 0\.0 is not positive"),
    (lambda: spot.spot_cost_factor(0.5, 0.1, 0.1, -2.0), r"restart_hours = -2\.0 is not a finite"),
    (lambda: spot.young_daly_interval(0.1, 0.0), r"preemptions_per_hour = 0\.0 is not positive"),
    (lambda: spot.wall_hours_per_useful_hour(np.inf, 0.1, 0.2), r"interval_hours = inf is only possible"),
    (lambda: spot.wall_hours_per_useful_hour(-1.0, 0.1, 0.2), r"interval_hours = -1\.0 is not positive"),
    (lambda: spot.spot_cost_factor([0.5, 0.5], [0.1, 0.1, 0.1], 0.1), r"shape mismatch"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
