"""``smallest-loss plan`` in dollars, for a target loss with inference, and with bootstrap intervals."""

import json

import numpy as np
import pytest

import smallest_loss as sl
from smallest_loss.cli import main
from smallest_loss.laws.inference import compute_optimal_for_loss, inference_optimal
from test_cli import synthetic_runs  # 5 isoFLOP budgets drawn from Hoffmann et al.'s law, 0.5% noise

DOLLARS = ["--dollars", "1e6", "--price-per-gpu-hour", "2", "--peak-flops", "989e12", "--mfu", "0.4"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0 and err == "", err
    return json.loads(out)


def test_dollars_example_of_the_issue(capsys):
    plan = run_json(capsys, "plan", *DOLLARS)
    assert plan["gpu_hours"] == pytest.approx(5e5, rel=1e-15)
    assert plan["flops"] == pytest.approx(7.1208e23, rel=1e-12)
    assert plan["dollars"] == 1e6 and "spot_cost_factor" not in plan
    same = run_json(capsys, "plan", "--flops", "7.1208e23")
    for k in ("params", "tokens", "tokens_per_param", "loss"):
        assert plan[k] == pytest.approx(same[k], rel=1e-12), k
    assert list(plan)[:6] == ["flops", "law", "params", "tokens", "tokens_per_param", "loss"]


def test_dollars_text_and_spot(capsys):
    code, out, _ = run_cli(capsys, "plan", *DOLLARS)
    assert code == 0 and "GPU-hours         5e+05" in out and "7.121e+23" in out
    spot = run_json(capsys, "plan", *DOLLARS, "--spot-discount", "0.6", "--preemptions-per-hour", "0.05",
                    "--checkpoint-minutes", "6", "--restart-minutes", "12")
    from smallest_loss.costs.spot import spot_cost_factor

    factor = spot_cost_factor(0.6, 0.05, 0.1, 0.2)
    assert spot["spot_cost_factor"] == pytest.approx(factor, rel=1e-12)
    assert spot["gpu_hours"] == pytest.approx(5e5 / factor, rel=1e-12)


def test_dollars_with_a_named_gpu(capsys):
    plan = run_json(capsys, "plan", "--dollars", "1e6", "--price-per-gpu-hour", "2",
                    "--gpu", "NVIDIA H100 SXM5 80GB", "--mfu", "0.4")
    assert plan["peak_flops_per_s"] == pytest.approx(9.894e14) and plan["gpu"] == "NVIDIA H100 SXM5 80GB"
    assert plan["flops"] == pytest.approx(5e5 * 3600 * 9.894e14 * 0.4, rel=1e-12)


def test_loss_without_inference_is_the_compute_optimal_model(capsys):
    plan = run_json(capsys, "plan", "--loss", "2.0", "--inference-tokens", "0")
    alloc = compute_optimal_for_loss(sl.HOFFMANN2022, 2.0)
    assert plan["params"] == pytest.approx(float(alloc.params), rel=1e-12)
    assert plan["tokens"] == pytest.approx(float(alloc.tokens), rel=1e-12)
    assert plan["training_flops"] == plan["total_flops"] == pytest.approx(float(alloc.flops), rel=1e-12)
    assert plan["inference_flops"] == 0
    back = run_json(capsys, "plan", "--flops", repr(plan["training_flops"]))
    assert back["loss"] == pytest.approx(2.0, rel=1e-12) and back["params"] == pytest.approx(plan["params"], rel=1e-10)


def test_loss_with_inference_is_sardanas_optimum(capsys):
    plan = run_json(capsys, "plan", "--loss", "2.0", "--inference-tokens", "1e13", "--law", "besiroglu2024")
    ref = inference_optimal(sl.BESIROGLU2024, 2.0, 1e13)
    for k in ("params", "tokens", "training_flops", "inference_flops", "total_flops"):
        assert plan[k] == pytest.approx(float(getattr(ref, k)), rel=1e-12), k
    assert plan["inference_flops"] == pytest.approx(2 * plan["params"] * 1e13, rel=1e-14)
    code, out, _ = run_cli(capsys, "plan", "--loss", "2.0", "--inference-tokens", "1e13")
    assert code == 0 and out.startswith("Cheapest run reaching loss 2.0000") and "inference FLOPs" in out


@pytest.fixture(scope="module")
def bootstrap_fit(tmp_path_factory):
    path = tmp_path_factory.mktemp("fit") / "runs.csv"
    synthetic_runs().to_csv(path, index=False)
    out = tmp_path_factory.getbasetemp() / "fit.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["fit", str(path), "--approach", "3", "--bootstrap", "30", "--seed", "1", "--json"]) == 0
    out.write_text(buf.getvalue())
    return out


def test_fit_json_carries_the_draws(bootstrap_fit):
    fit = json.loads(bootstrap_fit.read_text())
    boot = fit["bootstrap"]
    assert {"n", "n_failed", "interval_determined"} <= set(boot)
    draws = boot["draws"]
    assert set(draws) == {"E", "A", "B", "alpha", "beta"}
    assert len(draws["E"]) == boot["n"] - boot["n_failed"]
    # the draws are the refits behind the fit's own intervals
    lo, hi = fit["ci95"]["alpha"]
    assert lo <= np.median(draws["alpha"]) <= hi


def test_plans_with_a_bootstrap_fit_carry_intervals(bootstrap_fit, capsys):
    plan = run_json(capsys, "plan", "--flops", "1e23", "--law", bootstrap_fit)
    for k in ("params", "tokens", "loss"):
        lo, hi = plan["ci95"][k]
        assert lo < plan[k] < hi, k
    assert plan["ci95_draws"] == 30 - json.loads(bootstrap_fit.read_text())["bootstrap"]["n_failed"]
    code, out, _ = run_cli(capsys, "plan", "--flops", "1e23", "--law", bootstrap_fit)
    assert code == 0 and "95% [" in out and "bootstrap draws" in out
    by_loss = run_json(capsys, "plan", "--loss", "2.2", "--inference-tokens", "1e12", "--law", bootstrap_fit)
    lo, hi = by_loss["ci95"]["params"]
    assert lo < by_loss["params"] < hi
    by_dollars = run_json(capsys, "plan", *DOLLARS, "--law", bootstrap_fit)
    assert "ci95" in by_dollars


@pytest.mark.parametrize("args, message", [
    ([*DOLLARS[:-1], "1.5"], "argument --mfu: '1.5' is outside (0, 1]"),
    ([*DOLLARS[:-1], "0"], "argument --mfu: '0' is outside (0, 1]"),
    (["--dollars", "1e6", "--price-per-gpu-hour", "0", "--peak-flops", "1e15", "--mfu", "0.4"],
     "argument --price-per-gpu-hour: '0' is not a finite positive number"),
    (["--dollars", "1e6", "--price-per-gpu-hour", "-3", "--peak-flops", "1e15", "--mfu", "0.4"],
     "argument --price-per-gpu-hour: '-3' is not a finite positive number"),
    (["--dollars", "1e6", "--price-per-gpu-hour", "2", "--gpu", "H100", "--mfu", "0.4"],
     "unknown GPU 'H100': not in Epoch AI's chip table; close matches:"),
    (["--dollars", "1e6", "--price-per-gpu-hour", "2", "--mfu", "0.4"], "--dollars needs --peak-flops or --gpu"),
    (["--dollars", "1e6", "--price-per-gpu-hour", "2", "--peak-flops", "1e15", "--gpu", "X", "--mfu", "0.4"],
     "argument --gpu: not allowed with argument --peak-flops"),
    (["--flops", "1e21", "--dollars", "1e6"], "argument --dollars: not allowed with argument --flops"),
    (["--flops", "1e21", "--loss", "2"], "argument --loss: not allowed with argument --flops"),
    (["--flops", "1e21", "--mfu", "0.4"], "--mfu goes only with --dollars"),
    (["--flops", "1e21", "--inference-tokens", "1e12"], "--inference-tokens only goes with --loss"),
    (["--loss", "1.6"], "loss = 1.6 is not above the law's irreducible loss E = 1.69337"),
    (["--loss", "1.69337"], "is not above the law's irreducible loss"),
    (["--loss", "2", "--inference-tokens", "-1"], "argument --inference-tokens: '-1' is not a finite number >= 0"),
    (["--loss", "2", "--law", "kaplan2020", "--inference-tokens", "1e12"], "inference-aware planning needs"),
    ([*DOLLARS, "--spot-discount", "1"], "argument --spot-discount: '1' is outside [0, 1)"),
    ([], "one of the arguments --flops --dollars --loss is required"),
])
def test_bad_input_exits_2_with_one_line(capsys, args, message):
    code, out, err = run_cli(capsys, "plan", *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err


def test_power_law_fit_cannot_plan_for_a_loss(tmp_path, capsys):
    path = tmp_path / "fit2.json"
    path.write_text(json.dumps({"a": 0.5, "k_params": 0.1, "approach": 2}))
    code, out, err = run_cli(capsys, "plan", "--loss", "2.0", "--law", path)
    assert code == 2 and out == "" and "has no loss model" in err and err.count("\n") == 1
    plan = run_json(capsys, "plan", *DOLLARS, "--law", path)
    assert plan["params"] == pytest.approx(0.1 * plan["flops"] ** 0.5, rel=1e-12) and plan["loss"] is None


def test_help_has_examples(capsys):
    code, out, err = run_cli(capsys, "plan", "--help")
    assert code == 0 and err == "" and "--price-per-gpu-hour" in out and "Examples:" in out
    assert "--inference-tokens 1e13" in out
