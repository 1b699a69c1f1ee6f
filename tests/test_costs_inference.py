"""Decoding roofline: latency, ridge point, largest model under a latency target, cost per token."""

import numpy as np
import pytest

from smallest_loss.costs import inference as inf

H100 = dict(memory_bandwidth=3.35e12, peak_flops=9.894e14)


def test_weight_bytes_and_bad_dtype():
    assert inf.weight_bytes_per_param("bf16") == 2 and inf.weight_bytes_per_param("int4") == 0.5
    with pytest.raises(ValueError, match="dtype = 'fp12'"):
        inf.weight_bytes_per_param("fp12")


def test_kv_cache_llama2_7b():
    # 32 layers, 32 KV heads of 128, 4,096 tokens, 2 bytes: 2 x 32 x 4096 x 4096 x 2 bytes = 2 GiB
    kv = inf.kv_cache_bytes_per_sequence(32, 32, 128, 4096)
    assert kv == 2 * 32 * 32 * 128 * 4096 * 2 == 2**31
    with pytest.raises(ValueError, match="context_tokens"):
        inf.kv_cache_bytes_per_sequence(32, 32, 128, -1)


def test_kv_per_token_shape_assumption():
    # N = 12 L d^2 with d = 128 L: L = 32, d = 4096 for N = 12 * 32 * 4096^2
    n = 12 * 32 * 4096**2
    assert float(inf.kv_cache_bytes_per_token(n)) == pytest.approx(2 * 32 * 4096 * 2)
    assert float(inf.kv_cache_bytes_per_token(n, kv_head_fraction=0.25)) == pytest.approx(32 * 4096)
    with pytest.raises(ValueError, match="kv_head_fraction"):
        inf.kv_cache_bytes_per_token(n, kv_head_fraction=2)


def test_ridge_point_and_batch():
    ridge = float(inf.ridge_point(**H100))
    assert ridge == pytest.approx(9.894e14 / 3.35e12)
    assert float(inf.ridge_batch(2.0, **H100)) == pytest.approx(ridge)  # 2 b / 2 bytes = ridge
    # at that batch the two roofline terms are equal (no cache)
    step = inf.decode_step(7e9, ridge, bytes_per_param=2.0, **H100)
    assert float(step.memory_s) == pytest.approx(float(step.compute_s))
    with pytest.raises(ValueError, match="memory_bandwidth"):
        inf.ridge_point(1e15, 0.0)


def test_decode_step_memory_bound_at_batch_one():
    step = inf.decode_step(7e9, [1, 1000], bytes_per_param=2.0, **H100)
    assert step.memory_bound.tolist() == [True, False]
    assert float(step.latency_s[0]) == pytest.approx(14e9 / 3.35e12)
    assert float(step.latency_s[1]) == pytest.approx(2 * 7e9 * 1000 / 9.894e14)
    assert float(step.tokens_per_s[0]) == pytest.approx(3.35e12 / 14e9)
    with pytest.raises(ValueError, match="utilization"):
        inf.decode_step(7e9, 1, bytes_per_param=2.0, utilization=1.5, **H100)
    with pytest.raises(ValueError, match="params"):
        inf.decode_step(-1, 1, bytes_per_param=2.0, **H100)


def test_largest_params_inverts_decode_step():
    t = 0.02
    n = float(inf.largest_params_for_latency(t, bytes_per_param=2.0, **H100))
    assert n == pytest.approx(t * 3.35e12 / 2)
    assert float(inf.decode_step(n, 1, bytes_per_param=2.0, **H100).latency_s) == pytest.approx(t)
    # memory capacity binds for a loose target
    n_mem = float(inf.largest_params_for_latency(1.0, bytes_per_param=2.0, memory_bytes=80e9, **H100))
    assert n_mem == pytest.approx(40e9)
    # caches alone over the target: nothing fits
    assert float(inf.largest_params_for_latency(1e-6, bytes_per_param=2.0, batch=8,
                                                kv_bytes_per_sequence=1e9, **H100)) == 0.0


def test_largest_batch_inverts_decode_step():
    n, t, kv = 7e9, 0.03, 5e8
    b = float(inf.largest_batch_for_latency(n, t, bytes_per_param=2.0, kv_bytes_per_sequence=kv, **H100))
    step = inf.decode_step(n, b, bytes_per_param=2.0, kv_bytes_per_sequence=kv, **H100)
    assert float(step.latency_s) == pytest.approx(t)
    b_arr = inf.largest_batch_for_latency([7e9, 7e10], t, bytes_per_param=2.0,
                                          kv_bytes_per_sequence=[kv, 2 * kv], **H100)
    assert b_arr[1] < b_arr[0]
    with pytest.raises(ValueError, match="kv_bytes_per_sequence"):
        inf.largest_batch_for_latency(n, t, bytes_per_param=2.0, kv_bytes_per_sequence=0, **H100)


def test_cost_per_million_tokens():
    assert float(inf.cost_per_million_tokens(3.6, 1000)) == pytest.approx(1.0)
    np.testing.assert_allclose(inf.cost_per_million_tokens(3.6, [1000, 2000]), [1.0, 0.5])
    with pytest.raises(ValueError, match="tokens_per_s"):
        inf.cost_per_million_tokens(3.6, 0)
