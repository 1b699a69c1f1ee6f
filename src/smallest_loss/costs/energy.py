"""Energy and emissions of a training run.

``E = P x t x PUE`` and ``CO2e = E x I`` as in Patterson et al. 2021 ("Carbon emissions and large
neural network training", arXiv:2104.10350): P the average power drawn by the accelerators and
their servers [W], t the training time [hours], PUE the data centre's power usage effectiveness
(facility energy / IT energy, >= 1) and I the carbon intensity of the electricity
[kg CO2e per kWh]. Units: megawatt-hours for energy, tonnes of CO2e for emissions.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..validation import as_float_array, broadcast, positive_array

__all__ = ["training_energy_mwh", "training_emissions_tco2e"]


def _out(x: NDArray[np.float64]) -> NDArray[np.float64] | float:
    return float(x) if np.ndim(x) == 0 else x


def training_energy_mwh(power_w: ArrayLike, hours: ArrayLike, pue: ArrayLike = 1.0) -> NDArray[np.float64] | float:
    """Energy of a run [MWh]: ``power_w`` [W, IT power] x ``hours`` [h] x ``pue`` (>= 1) / 1e6."""
    p = positive_array("power_w", power_w)
    t = positive_array("hours", hours)
    u = as_float_array("pue", pue)
    flat = np.ravel(u)
    bad = ~np.isfinite(flat) | (flat < 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"pue = {float(flat[i])!r} is below 1 or not finite; PUE is facility / IT energy >= 1")
    p, t, u = broadcast(power_w=p, hours=t, pue=u)
    return _out(p * t * u / 1e6)


def training_emissions_tco2e(energy_mwh: ArrayLike, kg_co2e_per_kwh: ArrayLike) -> NDArray[np.float64] | float:
    """Emissions [t CO2e] of ``energy_mwh`` [MWh] at ``kg_co2e_per_kwh`` [kg CO2e per kWh] (>= 0).

    MWh x kg/kWh = 1000 kWh x kg/kWh / 1000 kg/t: the product is already in tonnes."""
    e = positive_array("energy_mwh", energy_mwh)
    i = as_float_array("kg_co2e_per_kwh", kg_co2e_per_kwh)
    flat = np.ravel(i)
    bad = ~np.isfinite(flat) | (flat < 0)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(f"kg_co2e_per_kwh = {float(flat[j])!r} is not a finite number >= 0")
    e, i = broadcast(energy_mwh=e, kg_co2e_per_kwh=i)
    return _out(e * i)
