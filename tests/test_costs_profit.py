"""The profit model: its pieces add up, the optimum is a maximum, and it moves the right way."""

import numpy as np
import pytest

from smallest_loss.costs import inference as inf
from smallest_loss.costs.profit import ProfitModel, ServingHardware, profit, profit_optimum
from smallest_loss.laws import HOFFMANN2022
from smallest_loss.laws.downstream import DownstreamLaw

HW = ServingHardware(memory_bandwidth=3.35e12, peak_flops=9.894e14, memory_bytes=80e9, price_per_hour=4.4)
MODEL = ProfitModel(law=HOFFMANN2022, downstream=DownstreamLaw(0.85, 3.0, 0.9), queries=1e9,
                    value_per_query=0.01, tokens_per_query=500, latency_s=0.03, context_tokens=2048,
                    dollars_per_training_flop=4.4 / 3600 / (9.894e14 * 0.4), hardware=HW)


def test_breakdown_adds_up():
    b = profit(MODEL, 7e9, 1e12)
    assert float(b.training_dollars) == pytest.approx(6 * 7e9 * 1e12 * MODEL.dollars_per_training_flop)
    err = 0.85 - 3.0 * np.exp(-0.9 * float(HOFFMANN2022.loss(7e9, 1e12)))
    assert float(b.revenue) == pytest.approx(1e9 * 0.01 * (1 - err))
    kv = 2048 * float(inf.kv_cache_bytes_per_token(7e9))
    step = inf.decode_step(7e9, b.batch, bytes_per_param=2.0, memory_bandwidth=3.35e12,
                           peak_flops=9.894e14, kv_bytes_per_sequence=kv, utilization=0.5)
    # the batch is filled up to the latency target or to the 80 GB of memory, whichever comes first
    assert float(step.latency_s) <= 0.03 * (1 + 1e-12)
    filled = 7e9 * 2 + float(b.batch) * kv
    assert float(step.latency_s) == pytest.approx(0.03) or filled == pytest.approx(80e9)
    assert float(b.inference_dollars) == pytest.approx(1e9 * 500 / float(step.tokens_per_s) / 3600 * 4.4)
    assert float(b.profit) == pytest.approx(float(b.revenue - b.training_dollars - b.inference_dollars))


def test_infeasible_model_has_no_profit():
    b = profit(MODEL, [7e9, 2e11], 1e12)
    assert b.feasible.tolist() == [True, False] and b.profit[1] == -np.inf


def test_optimum_is_a_local_maximum():
    best = profit_optimum(MODEL)
    p0 = float(best.profit)
    for fn, fd in ((1.05, 1), (0.95, 1), (1, 1.05), (1, 0.95)):
        assert float(profit(MODEL, best.params * fn, best.tokens * fd).profit) <= p0 * (1 + 1e-9)
    assert 1e8 < float(best.params) < 1e12 and float(best.tokens_per_param) > 20


def test_optimum_moves_with_volume_and_price():
    base = profit_optimum(MODEL)
    more = profit_optimum(MODEL.with_(queries=1e10))
    assert float(more.loss) < float(base.loss)  # more queries buy a better model
    assert float(more.tokens_per_param) > float(base.tokens_per_param)  # and a longer-trained one
    tight = profit_optimum(MODEL.with_(latency_s=0.01))
    assert float(tight.params) < float(base.params)


def test_bad_input():
    with pytest.raises(ValueError, match="queries"):
        MODEL.with_(queries=0)
    with pytest.raises(ValueError, match="utilization"):
        ServingHardware(3e12, 1e15, 8e10, 4.0, utilization=2)
    with pytest.raises(ValueError, match="chips"):
        ServingHardware(3e12, 1e15, 8e10, 4.0, chips=0)
    with pytest.raises(ValueError, match="latency target"):
        profit_optimum(MODEL.with_(latency_s=1e-6))
    with pytest.raises(ValueError, match="loses money"):
        profit_optimum(MODEL.with_(value_per_query=1e-9))
