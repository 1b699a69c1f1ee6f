import numpy as np
import pytest

from smallest_loss.costs import energy


def test_energy_and_emissions():
    assert energy.training_energy_mwh(1e6, 10.0, pue=1.1) == pytest.approx(11.0)
    np.testing.assert_allclose(energy.training_energy_mwh([1e6, 2e6], 10.0), [10.0, 20.0])
    assert energy.training_emissions_tco2e(1287.0, 552 / 1287) == pytest.approx(552.0)
    assert energy.training_emissions_tco2e(10.0, 0.0) == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: energy.training_energy_mwh(1e6, 10.0, pue=0.9), r"pue = 0\.9 is below 1"),
    (lambda: energy.training_energy_mwh(-1.0, 10.0), r"power_w = -1\.0 is not positive"),
    (lambda: energy.training_energy_mwh(1.0, 0.0), r"hours = 0\.0 is not positive"),
    (lambda: energy.training_emissions_tco2e(1.0, -0.1), r"kg_co2e_per_kwh = -0\.1 is not a finite"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
