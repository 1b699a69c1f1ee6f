"""Epoch AI's chip and price tables (datasets.epoch_costs), read from the verified mirror."""

import pytest

from smallest_loss import datasets
from smallest_loss.datasets import epoch_costs as ec


def test_registered_with_manifest_hashes():
    assert ec.EPOCH_CHIPS_KEY in datasets.REGISTRY and ec.EPOCH_PRICES_KEY in datasets.REGISTRY
    entry = datasets.REGISTRY[ec.EPOCH_CHIPS_KEY]
    assert entry.sha256.startswith("4a5e4531") and "263c40a1" in entry.url
    assert "never redistributed" in entry.license


@pytest.fixture(scope="module")
def chips():
    return ec.load_chip_table()


def test_chip_table_values(chips):
    h100 = chips.set_index("chip").loc["NVIDIA H100 SXM5 80GB"]
    assert h100.bf16_flops == pytest.approx(9.894e14)
    assert h100.tf32_flops == pytest.approx(4.947e14)
    assert h100.fp32_flops == pytest.approx(6.691e13)
    assert h100.memory_bytes == pytest.approx(8e10)
    assert h100.release_price_usd == pytest.approx(44489.88)
    b200 = chips.set_index("chip").loc["NVIDIA B200"]
    assert b200.fp8_flops / b200.bf16_flops == pytest.approx(2.0)
    assert chips.chip.is_unique and len(chips) > 1000
    assert list(chips.columns) == list(ec.CHIP_COLUMNS.values())


def test_prices():
    prices = ec.load_hardware_prices()
    assert ec.cloud_price_per_hour(prices, "NVIDIA H100 SXM5 80GB") == pytest.approx(4.40)
    assert ec.cloud_price_per_hour(prices, "NVIDIA A100 SXM4 80 GB") == pytest.approx(2.93)
    with pytest.raises(ValueError, match="no on-demand price"):
        ec.cloud_price_per_hour(prices, "not a chip")
