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


def test_notable_models_mfu_and_gpt3():
    from smallest_loss.datasets import epoch_costs
    m = epoch_costs.load_notable_models()
    mfu = m.mfu.dropna()
    assert len(mfu) == 62 and mfu.between(0, 1, inclusive="right").all()
    assert m.set_index("model").loc["GPT3-2.7B (FlashAttention-2)", "mfu"] == 0.72   # 72 in percent upstream
    gpt3 = m.set_index("model").loc["GPT-3 175B (davinci)"]
    assert gpt3.chip_hours == 3552000 and gpt3.hardware_quantity == 10000
    assert gpt3.flops == pytest.approx(3.14e23)


def test_cloud_price_summary():
    from smallest_loss.datasets import epoch_costs
    prices = epoch_costs.load_hardware_prices()
    s = epoch_costs.cloud_price_summary(prices, ["NVIDIA H100 SXM5 80GB"])
    assert set(s.chip) == {"NVIDIA H100 SXM5 80GB"} and (s.n >= 1).all()
    assert (s.on_demand.dropna() > 0).all()
    with pytest.raises(ValueError, match="no cloud price for chip 'nope'"):
        epoch_costs.cloud_price_summary(prices, ["nope"])
