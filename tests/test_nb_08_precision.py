"""Chapter 8 run with small parameters; its glued numbers checked against the accounting and
the papers' formulas."""

import pytest

from nbrun import run_notebook

NOTEBOOK = "notebooks/08_precision.md"
pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def glued():
    _, values = run_notebook(NOTEBOOK, {"n_state": 2**16, "quant_steps": 60, "quant_seeds": 1,
                                        "quant_n_boot": 20})
    return values


def test_bytes_per_param(glued):
    # Rajbhandari et al. 2020: 2 + 2 + K, K = 12; Dettmers et al.: 1-byte moments, 2,048-value blocks
    assert glued["bytes_per_param_adamw_mixed"] == 16
    assert glued["bytes_per_param_adamw_fp32"] == 16
    assert glued["bytes_per_param_adamw_8bit"] == pytest.approx(10 + 8 / 2048)
    assert glued["bytes_per_param_8bit_constants"] == pytest.approx(8 / 2048)
    assert glued["bytes_per_param_adafactor_mixed"] == pytest.approx(8 + 8 / 4096)
    assert glued["adam_8bit_block_size"] == 2048 and glued["adam_8bit_block_size_text"] == "2,048"
    assert glued["saved_bytes_per_param_8bit"] == pytest.approx(6 - 8 / 2048)


def test_what_fits(glued):
    assert glued["largest_params_80gb_adamw_mixed"] == pytest.approx(5e9)
    assert glued["largest_params_80gb_adamw_8bit"] == pytest.approx(80e9 / (10 + 8 / 2048))
    assert glued["largest_params_80gb_zero3"] == pytest.approx(4e10)
    assert glued["largest_params_80gb_offload"] == pytest.approx(4e10)
    assert glued["state_7b_bytes"] == pytest.approx(1.12e11)
    assert glued["state_7b_zero3_bytes"] == pytest.approx(1.4e10)


def test_activations(glued):
    s, h, a, L = 4096, 4096, 32, 32
    assert glued["act_7b_none_bytes"] == pytest.approx(L * s * h * (34 + 5 * a * s / h))
    assert glued["act_7b_selective_bytes"] == pytest.approx(L * 34 * s * h)
    assert glued["act_7b_full_bytes"] == pytest.approx(L * 2 * s * h + s * h * (34 + 5 * a * s / h))
    assert glued["ex_seq_equal"] == pytest.approx(34 * 4096 / (5 * 32))


def test_colossal(glued):
    assert glued["colossal_18b_host_bytes"] == pytest.approx(16 * 18e9)
    assert glued["colossal_18b_weights_bytes"] == pytest.approx(36e9)
    assert glued["colossal_gpu_bytes"] == pytest.approx(24e9)
    assert glued["colossal_pcie_bytes"] == pytest.approx(6 * 18e9)
    assert glued["colossal_pcie_gbps"] == pytest.approx(31.5, abs=0.05)
    assert glued["colossal_cpu_step_s"] == pytest.approx(28 * 18e9 / 51.2e9)
    assert glued["colossal_cpu_bytes_per_param"] == 28
    # break-even micro-batch: 6 bytes/param of traffic per micro-batch against 6 FLOPs/param/token
    # at half the RTX 4090's 3.3e14 FLOP/s 16-bit peak
    pcie = 16e9 * 16 * 128 / 130 / 8
    assert glued["colossal_breakeven_tokens"] == pytest.approx(6 * 18e9 / pcie * 3.3e14 * 0.5 / (6 * 18e9))
    step = 16 * 6 * 18e9 / pcie + 28 * 18e9 / 51.2e9      # the link sets the pace at 4,096 tokens
    assert glued["colossal_tokens_per_s"] == pytest.approx(16 * 4096 / step)
    assert 0.2 < glued["colossal_fraction_of_peak"] < 0.5
    assert glued["colossal_chinchilla_years"] > 10


def test_quantization_demo(glued):
    assert glued["q_zero_linear_tensor"] > 0.9
    assert glued["q_zero_linear_tensor"] > glued["q_zero_linear_block"] > 0.3
    assert glued["q_zero_dynamic_tensor"] < 0.01 and glued["q_zero_dynamic_block"] < glued["q_zero_dynamic_tensor"]
    assert glued["q_err_dynamic_block"] < 0.03
    assert glued["saved_7b_8bit_bytes"] == pytest.approx(7e9 * (6 - 8 / 2048))


def test_throughput_and_dollars(glued):
    assert glued["h100_bf16_over_fp32"] == pytest.approx(9.894e14 / 6.691e13)
    assert glued["b200_fp8_over_bf16"] == pytest.approx(2.0)
    assert glued["h100_bf16_over_tf32"] == pytest.approx(9.894e14 / 4.947e14)
    assert glued["h100_tf32_over_fp32"] == pytest.approx(4.947e14 / 6.691e13)
    assert glued["h100_price_per_hour"] == pytest.approx(4.40)
    assert glued["dollar_flops_bf16"] == pytest.approx(1e6 / 4.40 * 3600 * 9.894e14 * 0.4)
    assert glued["dollar_loss_fp32"] > glued["dollar_loss_bf16"]
    assert glued["dollar_loss_gain"] == pytest.approx(glued["dollar_loss_fp32"] - glued["dollar_loss_bf16"])


def test_precision_law(glued):
    import math
    x = glued["precision_x_star"]
    assert math.expm1(x) == pytest.approx(3 * x) and x == pytest.approx(1.904, abs=1e-3)
    assert glued["dstar_bit_factor"] == pytest.approx(math.exp(1 / (0.28491 + 0.5)))
    assert glued["dstar_4bit_per_param"] == pytest.approx(glued["dstar_4bit"] / 1e9)
    assert glued["precision_brute_pstar"] == pytest.approx(glued["precision_brute_gamma"] * x)
    assert glued["precision_brute_gamma"] == 2.0 and glued["precision_brute_step"] == pytest.approx(0.01)


def test_kumar_reported_optimum(glued):
    """Kumar et al.'s "around 7-8 bits" (Sec. 4.3.2) read back as the mean sensitivity it needs
    under their tied form: gamma_bar = P* / x*, x* the root of e^x - 1 = 3x."""
    x = glued["precision_x_star"]
    assert glued["kumar_gamma_bar_lo"] == pytest.approx(7 / x, rel=1e-9)
    assert glued["kumar_gamma_bar_hi"] == pytest.approx(8 / x, rel=1e-9)
    assert glued["kumar_gamma_bar_lo"] == pytest.approx(3.677, abs=1e-3)
    # their compute-matched models: 220M x 32 = 7.04e9 bit-parameters; 1.17B x 6 = 7.02e9 is the low one
    assert glued["kumar_np_spread_pct"] == pytest.approx(100 * (7.04e9 / 7.02e9 - 1), rel=1e-6)


def test_fake_quantization_sweep(glued):
    """Weights fake-quantized to k bits (study.quant), gamma of Kumar et al.'s N_eff fitted to the
    runs; with the test's short runs only the structure and loose bounds are asserted."""
    import math

    assert glued["quant_n_sizes"] == 3 and glued["quant_n_seeds"] == 1 and glued["quant_n_cells"] == 18
    assert glued["quant_bits_list"] == "3, 4, 5, 6, 8, 16"
    assert glued["quant_params_lo"] == 3120 and glued["quant_params_hi"] == 24_736
    assert glued["quant_tokens"] == 60 * 32 * 64
    g = glued["quant_gamma"]
    assert 0.3 < g < 5 and glued["quant_gamma_lo"] <= glued["quant_gamma_hi"]
    assert glued["quant_neff_4bit_pct"] == pytest.approx(-100 * math.expm1(-4 / g))
    assert glued["quant_neff_3bit_pct"] == pytest.approx(-100 * math.expm1(-3 / g))
    assert glued["quant_p99_bits"] == pytest.approx(g * math.log(100))
    assert glued["quant_p99_bits_lo"] <= glued["quant_p99_bits_hi"]
    assert glued["quant_penalty_3bit_pct"] > glued["quant_penalty_4bit_pct"] > 0
    assert glued["ex_neff_more_3"] == pytest.approx(-math.expm1(-16 / g) / -math.expm1(-3 / g))


def test_lever_matches_chapter_14(glued):
    from smallest_loss import levers

    lever = levers.precision_bf16()
    assert glued["lever_precision_bf16"] == pytest.approx(lever.multiplier, rel=1e-9)
    assert glued["h100_bf16_over_tf32"] == pytest.approx(lever.multiplier, rel=1e-9)
    assert glued["h100_bf16_over_fp32"] == pytest.approx(lever.high, rel=1e-9)
