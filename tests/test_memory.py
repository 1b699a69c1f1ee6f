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


def test_rates_and_cpu_step_bytes():
    assert m.pcie_bandwidth() == pytest.approx(16e9 * 16 * 128 / 130 / 8)
    assert m.pcie_bandwidth(32, lanes=16) == pytest.approx(2 * m.pcie_bandwidth())
    assert m.dram_bandwidth() == pytest.approx(5.12e10)
    assert m.dram_bandwidth(8, 4800) == pytest.approx(8 * 4.8e9 * 8)
    # mixed-precision AdamW: master, moments, gradient in; master, moments, 16-bit weights out
    assert m.cpu_optimizer_bytes_per_param() == 28
    # fp32 AdamW: weights and moments in and out, gradient in
    assert m.cpu_optimizer_bytes_per_param("adamw", "fp32") == (4 + 8 + 4) + (4 + 8)
    assert m.cpu_optimizer_bytes_per_param("sgd-momentum") == (4 + 4 + 2) + (4 + 4 + 2)


def test_offload_throughput():
    plan = m.memory_plan(18e9, offload="all")
    peak, mfu, link, host = 3.3e14, 0.5, m.pcie_bandwidth(), m.dram_bandwidth()
    r = m.offload_throughput(plan, peak, mfu, 4096, 16, link, host)
    compute = 6 * 18e9 * 4096 / (peak * mfu)
    transfer = 6 * 18e9 / link          # 2 + 2 bytes of weights in, 2 of gradients out
    cpu = 28 * 18e9 / host
    assert r.compute_s_per_micro_batch == pytest.approx(compute)
    assert r.transfer_s_per_micro_batch == pytest.approx(transfer)
    assert r.cpu_step_s == pytest.approx(cpu)
    assert r.step_s == pytest.approx(16 * max(compute, transfer) + cpu)
    assert r.tokens_per_second == pytest.approx(16 * 4096 / r.step_s)
    assert r.fraction_of_peak == pytest.approx(r.tokens_per_second * 6 * 18e9 / peak)
    # at the break-even micro-batch, compute and transfer take equally long
    b = m.offload_throughput(plan, peak, mfu, r.breakeven_tokens_per_micro_batch, 1, link, host)
    assert b.compute_s_per_micro_batch == pytest.approx(b.transfer_s_per_micro_batch)
    # optimizer-only offload: the traffic happens once per step, not per micro-batch
    opt = m.offload_throughput(m.memory_plan(18e9, offload="optimizer"), peak, mfu, 4096, 16, link, host)
    assert opt.transfer_s_per_micro_batch == 0
    assert opt.transfer_s_per_step_once == pytest.approx(4 * 18e9 / link)
    assert opt.step_s == pytest.approx(16 * compute + 4 * 18e9 / link + cpu)


@pytest.mark.parametrize("kwargs, match", [
    (dict(plan=None), "plan"),
    (dict(mfu=1.5), "mfu"),
    (dict(mfu=0.0), "mfu"),
    (dict(micro_batches_per_step=0), "micro_batches_per_step"),
    (dict(link_bytes_per_s=-1.0), "link_bytes_per_s"),
    (dict(peak_flops=float("nan")), "peak_flops"),
])
def test_offload_throughput_bad_input(kwargs, match):
    args = dict(plan=m.memory_plan(1e9, offload="all"), peak_flops=1e14, mfu=0.5,
                tokens_per_micro_batch=1024, micro_batches_per_step=4, link_bytes_per_s=3e10,
                host_bytes_per_s=5e10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        m.offload_throughput(**args)
    with pytest.raises(ValueError, match="nothing is offloaded"):
        m.offload_throughput(m.memory_plan(1e9), 1e14, 0.5, 1024, 4, 3e10, 5e10)


def test_attention_equals_rest_and_bad_rates():
    s = m.attention_equals_rest_seq_len(4096, 32)
    assert s == pytest.approx(34 * 4096 / (5 * 32))
    below = m.activation_bytes_per_layer(4096, 32, int(s), 1)
    above = m.activation_bytes_per_layer(4096, 32, int(s) + 1, 1)
    rest = lambda n: m.activation_bytes_per_layer(4096, 32, n, 1, "selective")  # noqa: E731
    assert below - rest(int(s)) < rest(int(s)) and above - rest(int(s) + 1) > rest(int(s) + 1)
    with pytest.raises(ValueError, match="n_heads"):
        m.attention_equals_rest_seq_len(4096, 0)
    with pytest.raises(ValueError, match="encoding"):
        m.pcie_bandwidth(encoding=(130, 128))
    with pytest.raises(ValueError, match="channels"):
        m.dram_bandwidth(0)
