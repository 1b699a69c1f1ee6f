import numpy as np
import pytest

from smallest_loss.costs import hardware


def test_usd_per_flop():
    assert hardware.usd_per_flop(2.0, 989e12, 0.4) == pytest.approx(2.0 / (3600 * 989e12 * 0.4))


def test_doubling_time_recovers_synthetic_trend():
    rng = np.random.default_rng(1)
    year = rng.uniform(2000, 2024, 300)
    value = 2 ** ((year - 2000) / 2.5 + rng.normal(0, 0.5, 300))
    fit = hardware.doubling_time(year, value, n_bootstrap=500, seed=0)
    assert fit.years == pytest.approx(2.5, rel=0.05)
    assert fit.lo < 2.5 < fit.hi
    again = hardware.doubling_time(year, value, n_bootstrap=500, seed=0)
    assert (again.lo, again.hi) == (fit.lo, fit.hi)      # seeded


def test_optimal_wait_matches_brute_force():
    for td, t in [(5.0, 2.5), (2.0, 2.5), (10.0, 1.0)]:
        w = np.linspace(0, td * 0.999, 200_001)
        best = w[np.argmax(2 ** (w / t) * (td - w))]
        assert hardware.optimal_wait_years(td, t) == pytest.approx(best, abs=1e-3 * td)
    assert hardware.optimal_wait_years(1.0, 2.5) == 0.0
    assert hardware.wait_gain(1.0, 2.5) == pytest.approx(1.0)
    assert hardware.wait_gain(10.0, 1.0) > 1


@pytest.mark.parametrize("call, message", [
    (lambda: hardware.doubling_time([2000, 2001, 2002], [4.0, 2.0, 1.0]), r"the trend falls"),
    (lambda: hardware.doubling_time([2000, 2001], [1.0, 2.0]), r"need at least 3"),
    (lambda: hardware.doubling_time([2000, 2001, 2002], [1.0, -2.0, 3.0]), r"value\[1\] = -2\.0 is not positive"),
    (lambda: hardware.optimal_wait_years(0.0, 2.5), r"deadline_years = 0\.0 is not positive"),
    (lambda: hardware.usd_per_flop(2.0, 989e12, 1.5), r"utilization = 1\.5 is above 1"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
