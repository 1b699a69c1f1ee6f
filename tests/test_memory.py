"""Memory accounting (counting.memory): bytes per parameter, ZeRO, offload, activations."""

import pytest

from smallest_loss.counting import memory as m


def test_adamw_mixed_is_16_bytes_as_in_zero():
    # Rajbhandari et al. 2020: 2 Psi + 2 Psi + K Psi with K = 12 for mixed-precision Adam
    b = m.bytes_per_param("adamw", "bf16-mixed")
    assert (b.weights, b.gradients, b.optimizer, b.total) == (2, 2, 12, 16)
    assert m.bytes_per_param("adamw", "fp16-mixed") == b


def test_other_settings():
    assert m.bytes_per_param("adamw", "fp32").total == 16  # 4 + 4 + 8, no master copy
    assert m.bytes_per_param("sgd-momentum", "fp32").total == 12
    assert m.bytes_per_param("sgd-momentum", "bf16-mixed").total == 12
    b8 = m.bytes_per_param("adamw-8bit", "bf16-mixed")
    assert b8.quantization_constants == pytest.approx(8 / 2048)
    assert b8.total == pytest.approx(10 + 8 / 2048)
    assert m.bytes_per_param("adamw-8bit", block_size=256).quantization_constants == pytest.approx(8 / 256)
    af = m.bytes_per_param("adafactor", "bf16-mixed", matrix_shape=(1000, 4000))
    assert af.moments == pytest.approx(4 * 5000 / 4e6)
    assert af.total == pytest.approx(8.005)


def test_issue_examples_7b():
    plan = m.memory_plan(7e9)
    assert plan.total_bytes == pytest.approx(1.12e11) and plan.per_gpu_bytes == pytest.approx(1.12e11)
    assert m.memory_plan(7e9, zero_stage=3, gpus=8).per_gpu_bytes == pytest.approx(1.4e10)


def test_zero_stages_follow_the_paper_formulas():
    n, g = 7.5e9, 64
    per = [m.memory_plan(n, zero_stage=s, gpus=g).per_gpu_bytes for s in range(4)]
    assert per[0] == pytest.approx(16 * n)
    assert per[1] == pytest.approx(4 * n + 12 * n / g)
    assert per[2] == pytest.approx(2 * n + 14 * n / g)
    assert per[3] == pytest.approx(16 * n / g)
    assert per == sorted(per, reverse=True)


def test_offload_moves_state_to_host():
    plan = m.memory_plan(18e9, offload="optimizer")
    assert plan.per_gpu_bytes == pytest.approx(2 * 18e9)
    assert plan.host_bytes_per_gpu == pytest.approx(14 * 18e9)
    assert plan.pcie_bytes_per_step == pytest.approx(4 * 18e9)
    full = m.memory_plan(18e9, offload="all")
    assert full.per_gpu_bytes == 0 and full.host_bytes_per_gpu == pytest.approx(16 * 18e9)
    assert full.pcie_bytes_per_step == pytest.approx(6 * 18e9)


def test_largest_model():
    assert m.largest_trainable_params(80e9) == pytest.approx(5e9)
    assert m.largest_trainable_params(80e9, optimizer="adamw-8bit") == pytest.approx(80e9 / (10 + 8 / 2048))
    assert m.largest_trainable_params(80e9, 1e12, offload="optimizer") == pytest.approx(40e9)
    assert m.largest_trainable_params(80e9, 1e11, offload="optimizer") == pytest.approx(1e11 / 14)
    assert m.largest_trainable_params(80e9, zero_stage=3, gpus=8) == pytest.approx(40e9)


def test_activations_korthikanti():
    # s b h (34 + 5 a s / h) bytes per block; GPT-3 175B shape: h = 12288, a = 96, s = 2048
    s, b, h, a = 2048, 1, 12288, 96
    per = m.activation_bytes_per_layer(h, a, s, b)
    assert per == pytest.approx(s * b * h * (34 + 5 * a * s / h))
    assert m.activation_bytes_per_layer(h, a, s, b, "selective") == pytest.approx(34 * s * b * h)
    assert m.activation_bytes_per_layer(h, a, s, b, "full") == pytest.approx(2 * s * b * h)
    assert m.activation_bytes(96, h, a, s, b, "full") == pytest.approx(96 * 2 * s * b * h + per)
    plan = m.memory_plan(1e9, n_layer=2, d_model=256, seq_len=128, micro_batch=4)
    assert plan.activation_bytes == pytest.approx(m.activation_bytes(2, 256, 2, 128, 4))


@pytest.mark.parametrize("call, word", [
    (lambda: m.bytes_per_param("adam"), "optimizer"),
    (lambda: m.bytes_per_param(precision="fp8"), "precision"),
    (lambda: m.bytes_per_param("adamw-8bit", block_size=0), "block_size"),
    (lambda: m.bytes_per_param("adafactor", matrix_shape=(3,)), "matrix_shape"),
    (lambda: m.memory_plan(-1), "params"),
    (lambda: m.memory_plan(float("nan")), "params"),
    (lambda: m.memory_plan(1e9, zero_stage=4), "zero_stage"),
    (lambda: m.memory_plan(1e9, gpus=0), "gpus"),
    (lambda: m.memory_plan(1e9, offload="disk"), "offload"),
    (lambda: m.memory_plan(1e9, n_layer=2), "n_layer"),
    (lambda: m.activation_bytes_per_layer(0, 1, 1, 1), "d_model"),
    (lambda: m.activation_bytes_per_layer(8, 1, 1, 1, recompute="some"), "recompute"),
    (lambda: m.largest_trainable_params(0), "gpu_bytes"),
    (lambda: m.largest_trainable_params(1e9, -1), "host_bytes"),
])
def test_bad_input_is_one_line_value_error(call, word):
    with pytest.raises(ValueError) as err:
        call()
    assert word in str(err.value) and "\n" not in str(err.value)
