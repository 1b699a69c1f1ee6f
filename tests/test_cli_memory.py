"""`smallest-loss memory`: the issue's examples, text and JSON output, and the bad-input contract
(exit 2, one line on standard error, nothing on standard output), with hypothesis property tests."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smallest_loss.cli import main

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def run_json(capsys, *argv):
    code = main(["memory", *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and err == "", err
    return json.loads(out)


def test_issue_examples(capsys):
    r = run_json(capsys, "--params", "7e9", "--optimizer", "adamw", "--precision", "bf16-mixed")
    assert r["bytes_per_param"] == 16 and r["total_bytes"] == pytest.approx(1.12e11)
    assert r["per_gpu_bytes"] == pytest.approx(1.12e11)
    r3 = run_json(capsys, "--params", "7e9", "--zero", "3", "--gpus", "8")
    assert r3["per_gpu_bytes"] == pytest.approx(1.4e10) and r3["total_bytes"] == pytest.approx(1.12e11)
    r8 = run_json(capsys, "--params", "7e9", "--optimizer", "adamw-8bit")
    assert r8["bytes_per_param"] == pytest.approx(10 + 8 / 2048)
    assert r8["breakdown"]["quantization_constants"] == pytest.approx(8 / 2048)


def test_offload_and_activations(capsys):
    r = run_json(capsys, "--params", "18e9", "--offload")
    assert r["per_gpu_bytes"] == pytest.approx(36e9) and r["host_bytes_per_gpu"] == pytest.approx(252e9)
    assert r["pcie_bytes_per_step"] == pytest.approx(72e9) and r["offload"] is True
    a = run_json(capsys, "--params", "1e9", "--layers", "2", "--d-model", "256", "--seq-len", "128",
                 "--micro-batch", "4", "--heads", "4")
    per_layer = 128 * 4 * 256 * (34 + 5 * 4 * 128 / 256)
    assert a["activation_bytes"] == pytest.approx(2 * per_layer)
    assert a["per_gpu_bytes_with_activations"] == pytest.approx(16e9 + 2 * per_layer)
    full = run_json(capsys, "--params", "1e9", "--layers", "2", "--d-model", "256", "--seq-len", "128",
                    "--micro-batch", "4", "--heads", "4", "--recompute", "full")
    assert full["activation_bytes"] == pytest.approx(2 * 2 * 128 * 4 * 256 + per_layer)


def test_text_output(capsys):
    assert main(["memory", "--params", "7e9", "--zero", "3", "--gpus", "8"]) == 0
    out = capsys.readouterr().out
    assert "112.00 GB" in out and "14.00 GB" in out


def check_contract(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code in (0, 2), (code, err)
    if code == 0:
        json.loads(out)
    else:
        assert out == "", out
        assert err.count("\n") == 1 and err.startswith("smallest-loss"), err
        assert "internal error" not in err, err
    return code, err


@pytest.mark.parametrize("argv, word", [
    (["--params", "-7e9"], "--params"),
    (["--params", "nan"], "--params"),
    (["--params", "1e400"], "--params"),
    (["--params", "abc"], "--params"),
    (["--optimizer", "adam"], "--optimizer"),
    (["--precision", "fp8"], "--precision"),
    (["--zero", "4"], "--zero"),
    (["--gpus", "0"], "--gpus"),
    (["--layers", "2"], "--d-model"),
    (["--recompute", "full"], "--recompute"),
    (["--layers", "2", "--d-model", "100", "--seq-len", "8", "--micro-batch", "1", "--heads", "3"], "--heads"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, word):
    if "--params" not in argv:
        argv = ["--params", "1e9", *argv]
    code, err = check_contract(capsys, ["memory", *argv, "--json"])
    assert code == 2 and word in err


def test_missing_params(capsys):
    code, err = check_contract(capsys, ["memory"])
    assert code == 2 and "--params" in err


TEXTS = st.one_of(st.sampled_from(["0", "-1", "1", "2", "3", "4", "8", "1e9", "7e9", "nan", "inf", "1e400",
                                   "", " ", "abc", "0x10", "1_0", "2.5", "-0"]),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.integers(-10, 10**8).map(str))
FLAGS = ["--params", "--optimizer", "--precision", "--zero", "--gpus", "--layers", "--d-model", "--heads",
         "--seq-len", "--micro-batch", "--recompute"]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(FLAGS), TEXTS | st.sampled_from(
    ["adamw", "adamw-8bit", "sgd-momentum", "adafactor", "fp32", "bf16-mixed", "none", "full"])),
    min_size=0, max_size=6), st.booleans())
def test_property_any_arguments_keep_the_contract(capsys, pairs, offload):
    argv = ["memory"] + [x for pair in pairs for x in pair] + (["--offload"] if offload else []) + ["--json"]
    check_contract(capsys, argv)


@SETTINGS
@given(st.floats(min_value=1.0, max_value=1e15), st.integers(0, 3), st.integers(1, 4096),
       st.sampled_from(["adamw", "adamw-8bit", "sgd-momentum", "adafactor"]))
def test_property_valid_runs_are_consistent(capsys, params, zero, gpus, optimizer):
    r = run_json(capsys, "--params", repr(params), "--zero", str(zero), "--gpus", str(gpus),
                 "--optimizer", optimizer)
    assert r["total_bytes"] == pytest.approx(params * r["bytes_per_param"])
    assert 0 < r["per_gpu_bytes"] <= r["total_bytes"] * (1 + 1e-12)
    if zero == 3:
        assert r["per_gpu_bytes"] == pytest.approx(r["total_bytes"] / gpus)
