"""The smallest-loss command line: fits, plans, a round trip, and one-line errors with exit 2."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import smallest_loss as sl
from smallest_loss.cli import main


def synthetic_runs(seed=0):
    """Runs on 5 isoFLOP budgets drawn from Hoffmann et al.'s law with 0.5% multiplicative noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in (1e18, 1e19, 1e20, 1e21, 1e22):
        n_opt = float(sl.compute_optimal_allocation(sl.HOFFMANN2022, c).params)
        for n in n_opt * np.logspace(-0.8, 0.8, 9):
            loss = float(sl.HOFFMANN2022.loss_at_compute(n, c)) * np.exp(rng.normal(0, 0.005))
            rows.append({"N": n, "C": c, "loss": loss})
    return pd.DataFrame(rows)


@pytest.fixture
def runs_csv(tmp_path):
    path = tmp_path / "runs.csv"
    synthetic_runs().to_csv(path, index=False)
    return path


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_approach3_json_and_round_trip(runs_csv, tmp_path, capsys):
    code, out, err = run_cli(capsys, "fit", runs_csv, "--approach", "3", "--json")
    assert code == 0 and err == ""
    fit = json.loads(out)
    assert set(fit) >= {"E", "A", "B", "alpha", "beta", "a", "b", "objective", "n_points"}
    assert fit["n_points"] == 45
    assert fit["a"] == pytest.approx(sl.HOFFMANN2022.a, abs=0.03)
    saved = tmp_path / "fit.json"
    saved.write_text(out)
    code, out, _ = run_cli(capsys, "plan", "--flops", "1e21", "--law", saved, "--json")
    plan = json.loads(out)
    expected = sl.compute_optimal_allocation(
        sl.ChinchillaLaw(**{k: fit[k] for k in ("E", "A", "B", "alpha", "beta")}), 1e21)
    assert code == 0 and plan["params"] == pytest.approx(float(expected.params), rel=1e-12)
    assert plan["tokens_per_param"] == pytest.approx(plan["tokens"] / plan["params"])


def test_fit_approach3_bootstrap_has_se_and_ci(runs_csv, capsys):
    code, out, _ = run_cli(capsys, "fit", runs_csv, "--approach", "3", "--bootstrap", "8", "--seed", "3", "--json")
    fit = json.loads(out)
    assert code == 0 and set(fit["se"]) == set(fit["ci95"]) == {"E", "A", "B", "alpha", "beta", "a", "b"}
    lo, hi = fit["ci95"]["a"]
    assert lo <= hi and fit["se"]["a"] > 0
    code2, out2, _ = run_cli(capsys, "fit", runs_csv, "--approach", "3", "--bootstrap", "8", "--seed", "3", "--json")
    assert out2 == out  # seeded: identical


def test_fit_approach2_groups_by_flops(runs_csv, capsys):
    code, out, _ = run_cli(capsys, "fit", runs_csv, "--approach", "2", "--json", "--bootstrap", "20")
    fit = json.loads(out)
    assert code == 0 and len(fit["optima"]) == 5 and fit["a"] + fit["b"] == pytest.approx(1)
    assert fit["a"] == pytest.approx(sl.HOFFMANN2022.a, abs=0.03)
    assert set(fit["se"]) == {"a", "b"}


def test_fit_approach2_budget_column(tmp_path, capsys):
    df = synthetic_runs()
    df["budget"] = df["C"].map(lambda c: f"{c:.0e}")
    df["C"] *= np.exp(np.random.default_rng(1).normal(0, 0.01, len(df)))  # jittered, as digitized
    path = tmp_path / "b.csv"
    df.to_csv(path, index=False)
    code, out, _ = run_cli(capsys, "fit", path, "--approach", "2", "--json")
    assert code == 0 and len(json.loads(out)["optima"]) == 5


def test_fit_approach1_and_readable_tables(tmp_path, capsys):
    rows = []
    for n in np.logspace(7.5, 9.5, 9):
        for d in np.logspace(8, 11, 40):
            rows.append({"run": f"n{n:.3g}", "params": n, "tokens": d,
                         "loss": float(sl.HOFFMANN2022.loss(n, d))})
    path = tmp_path / "curves.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    code, out, _ = run_cli(capsys, "fit", path, "--approach", "1", "--json")
    assert code == 0 and 0.3 < json.loads(out)["a"] < 0.6
    code, out, _ = run_cli(capsys, "fit", path, "--approach", "1")
    assert code == 0 and out.startswith("Approach 1 fit to 360 runs")
    code, out, _ = run_cli(capsys, "plan", "--flops", "5.76e23")
    assert code == 0 and "hoffmann2022" in out and "4.036e+10" in out


def test_plan_named_laws(capsys):
    for law in ("hoffmann2022", "hoffmann2022-printed", "besiroglu2024", "kaplan2020"):
        code, out, _ = run_cli(capsys, "plan", "--flops", "1e21", "--law", law, "--json")
        assert code == 0
    assert json.loads(out)["params"] == pytest.approx(4.68e9, rel=0.01)  # Hoffmann et al. App. D.4


def write(tmp_path, text, name="bad.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, args, message", [
    ("params,tokens\n1e9,2e10\n", ["--approach", "3"], r"missing column 'loss'"),
    ("params,loss\n1e9,2.5\n", ["--approach", "3"], r"need two of the columns params, tokens, flops .* missing tokens, flops"),
    ("N,D,loss\n1e9,2e10,2.5\n2e9,abc,2.4\n", ["--approach", "3"], r"column 'D', row 2 \(line 3\): 'abc' is not numeric"),
    ("N,D,loss\n1e9,2e10,2.5\n-2e9,2e10,2.4\n", ["--approach", "3"], r"column 'N', row 2 \(line 3\): '-2e9' is not a finite positive number"),
    ("N,D,loss\n1e9,2e10,nan\n", ["--approach", "3"], r"column 'loss', row 1 \(line 2\): value is NaN"),
    ("N,D,loss\n1e9,2e10,\n", ["--approach", "3"], r"column 'loss', row 1 \(line 2\): value is missing"),
    ("N,D,loss\n1e9,2e10,2.5\n2e9,2e10,2.4\n", ["--approach", "3"], r"approach 3 needs at least 5 runs, got 2"),
    ("N,D,loss\n" + "1e9,2e10,2.5\n" * 6, ["--approach", "3"], r"5 runs with distinct \(params, tokens\); the 6 runs have 1"),
    ("N,D,loss\n" + "".join(f"1e9,{d},{2 + 1 / i}\n" for i, d in enumerate([1e9, 2e9, 4e9, 8e9, 1.6e10, 3.2e10], 1)),
     ["--approach", "3"], r"every run has params = 1e\+09, so E and A N\^-alpha cannot be told apart"),
    ("N,D,loss,loss\n1e9,2e10,2.5,2.5\n", ["--approach", "3"], r"column 'loss' appears more than once"),
    ("N,D,loss\n1e9,2e10,2.5\n1e9,2e10\n", ["--approach", "3"], r"line 3 has 2 field\(s\) but the header \(line 1\) has 3"),
    ("N,D,loss\n1e9,2e10,2.5,7\n", ["--approach", "3"], r"line 2 has 4 field\(s\)"),
    ("N,D,loss\n1e9,2e10,1e400\n", ["--approach", "3"], r"column 'loss', row 1 \(line 2\): '1e400' overflows a float"),
    ("N,D,loss\n1e9,inf,2\n", ["--approach", "3"], r"column 'D', row 1 \(line 2\): 'inf' is infinite"),
    ("N,D,loss\n1e9,0,2\n", ["--approach", "3"], r"'0' is not a finite positive number"),
    ("N,D,loss\nnan,nan,nan\nnan,nan,nan\n", ["--approach", "3"], r"column 'N', row 1 \(line 2\): value is NaN"),
    ("C,D,loss\n1e-300,1e300,2\n", ["--approach", "3"], r"params = flops / \(6 tokens\) = 0.0 is out of the floating-point range"),
    ("\n\n", ["--approach", "3"], r"the file is empty"),
    ("N,,loss\n1,2,3\n", ["--approach", "3"], r"column 2 of the header has no name"),
    ("N,C,loss\n1e8,1e19,3\n2e8,1e19,2.9\n4e8,1e19,2.95\n", ["--approach", "2"], r"need at least 2 usable budgets"),
    ("N,C,loss\n1e8,1e19,3\n2e8,1e19,2.9\n", ["--approach", "2"], r"budget 1e\+19: needs at least 3 runs at 3 distinct model sizes.*add a 'budget' column"),
    ("N,D,loss\n1e8,1e9,3\n", ["--approach", "1"], r"missing column 'run'"),
    ("N,D,loss,run\n1e8,1e9,3,a\n", ["--approach", "1", "--bootstrap", "5"], r"--bootstrap is available for approaches 2 and 3"),
    ("N,params,D,loss\n1,1,1,1\n", ["--approach", "3"], r"columns 'N' and 'params' both given"),
    ("params,tokens,loss\n", ["--approach", "3"], r"no data rows"),
])
def test_fit_bad_input_exits_2_with_one_line(tmp_path, capsys, text, args, message):
    code, out, err = run_cli(capsys, "fit", write(tmp_path, text), *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("smallest-loss: error: ")
    assert re.search(message, err), err


def test_missing_file(tmp_path, capsys):
    code, out, err = run_cli(capsys, "fit", tmp_path / "nope.csv", "--approach", "3")
    assert code == 2 and "no such file" in err and out == ""


@pytest.mark.parametrize("args, message", [
    (["plan", "--flops", "-1"], "'-1' is not a finite positive number"),
    (["plan", "--flops", "abc"], "'abc' is not a number"),
    (["plan", "--flops", "nan"], "'nan' is not a finite positive number"),
    (["plan", "--flops", "inf"], "'inf' is not a finite positive number"),
    (["fit", "x.csv", "--approach", "4"], "invalid choice: '4'"),
    (["fit", "x.csv", "--approach", "3", "--bootstrap", "0"], "'0' must be at least 2"),
    (["fit", "x.csv", "--approach", "3", "--bootstrap", "10000000"], "more than the 100000 resamples allowed"),
    (["fit", "x.csv", "--approach", "3", "--seed", "-1"], "'-1' must be a non-negative integer"),
    ([], "the following arguments are required: command"),
])
def test_argument_errors_exit_2(capsys, args, message):
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_unknown_law_is_exit_2_not_exception(capsys):
    code, out, err = run_cli(capsys, "plan", "--flops", "1e21", "--law", "chinchilla")
    assert code == 2 and out == "" and "unknown law" in err


def test_plan_from_bad_json(tmp_path, capsys):
    bad = write(tmp_path, "{not json", "fit.json")
    code, _, err = run_cli(capsys, "plan", "--flops", "1e21", "--law", bad)
    assert code == 2 and "not valid JSON" in err
    incomplete = write(tmp_path, json.dumps({"E": 1.7}), "fit2.json")
    code, _, err = run_cli(capsys, "plan", "--flops", "1e21", "--law", incomplete)
    assert code == 2 and "needs E, A, B, alpha, beta" in err
    negative = write(tmp_path, json.dumps({"E": 1.7, "A": 400, "B": 400, "alpha": -0.3, "beta": 0.3}), "fit3.json")
    code, _, err = run_cli(capsys, "plan", "--flops", "1e21", "--law", negative)
    assert code == 2 and "'alpha' = -0.3 is not a finite positive number" in err
    stringy = write(tmp_path, json.dumps({"E": "x", "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3}), "fit4.json")
    code, out, err = run_cli(capsys, "plan", "--flops", "1e21", "--law", stringy)
    assert code == 2 and out == "" and "'E' = 'x' is not a number" in err
    unidentified = write(tmp_path, json.dumps({"E": 1.7, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3,
                                               "identified": False, "identification": "not identified: a"}),
                         "fit5.json")
    code, out, err = run_cli(capsys, "plan", "--flops", "1e21", "--law", unidentified)
    assert code == 2 and out == "" and "the fit is not identified" in err
    code, out, err = run_cli(capsys, "plan", "--flops", "1e21", "--law", tmp_path)
    assert code == 2 and out == "" and "is a directory" in err


def test_console_script_is_installed(runs_csv):
    exe = shutil.which("smallest-loss", path=str(Path(sys.executable).parent))
    assert exe, "console script smallest-loss not installed in the environment"
    proc = subprocess.run([exe, "plan", "--flops", "1e21", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)["law"] == "hoffmann2022"
    proc = subprocess.run([exe, "plan", "--flops", "0"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""


@pytest.mark.parametrize("content, message", [
    (None, "is a directory"),
    (b"N,D,loss\n1e9,2e10,\x002.5\n", "binary file (a NUL byte at offset"),
    (b"N,D,loss\n1e9,2e10,2.5\xff\n", "not UTF-8 text (byte 0xff at offset"),
    (b"", "the file is empty"),
])
def test_unreadable_files_exit_2(tmp_path, capsys, content, message):
    path = tmp_path
    if content is not None:
        path = tmp_path / "f.csv"
        path.write_bytes(content)
    code, out, err = run_cli(capsys, "fit", path, "--approach", "3")
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_flops_that_overflow_the_plan_exit_2(capsys):
    code, out, err = run_cli(capsys, "plan", "--flops", "1e-300", "--law", "kaplan2020")
    assert (code, out) == (2, "") and "the compute-optimal loss is inf, out of the floating-point range" in err
    code, out, err = run_cli(capsys, "plan", "--flops", "1.7e308", "--law", "hoffmann2022", "--json")
    assert code == 0 and err == "" and json.loads(out)["params"] > 1e140


def test_help_is_plain_text_and_exit_0(capsys):
    code, out, err = run_cli(capsys, "fit", "--help")
    assert code == 0 and err == "" and "near-optimal ranges" in out and "``" not in out


def test_internal_errors_are_reported_as_bugs_not_input(monkeypatch, capsys, runs_csv):
    import smallest_loss.cli as cli

    def broken(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(cli, "fit_runs", broken)
    code, out, err = run_cli(capsys, "fit", runs_csv, "--approach", "3")
    assert code == cli.EXIT_INTERNAL and out == "" and err.count("\n") == 1 and "a bug" in err
    monkeypatch.setenv("SMALLEST_LOSS_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["fit", str(runs_csv), "--approach", "3"])


def ridge_runs(seed=0):
    """A flat ridge: 8 isoFLOP budgets over one decade (1e18-1e19 FLOP), 29 sizes each within
    +-0.3 dex of the optimum, 2% log-normal noise on Hoffmann et al.'s law: 232 runs, like a small
    published isoFLOP sweep."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in np.logspace(18, 19, 8):
        n_opt = float(sl.compute_optimal_allocation(sl.HOFFMANN2022, c).params)
        for n in n_opt * np.logspace(-0.3, 0.3, 29):
            rows.append({"N": n, "C": c, "loss": float(sl.HOFFMANN2022.loss_at_compute(n, c)) * np.exp(rng.normal(0, 0.02))})
    return pd.DataFrame(rows)


def test_ridge_prints_ranges_not_a_point(tmp_path, capsys):
    path = tmp_path / "ridge.csv"
    ridge_runs().to_csv(path, index=False)
    code, out, err = run_cli(capsys, "fit", path, "--approach", "3", "--json")
    fit = json.loads(out)
    assert code == 0 and err == "" and fit["identified"] is False
    lo, hi = fit["near_optimal_ranges"]["a"]
    assert hi - lo > 0.2 and lo < fit["a"] < hi
    assert fit["near_optimal_ranges"]["E"][0] == 0  # E is not bounded below by these runs
    code, out, err = run_cli(capsys, "fit", path, "--approach", "3")
    assert code == 0 and "not identified" in out and "near-optimal range" in out
    assert not re.search(r"^\s+a\s+0\.\d+\s*$", out, re.M)  # no bare point estimate for a
    (tmp_path / "fit.json").write_text(json.dumps(fit))
    code, out, err = run_cli(capsys, "plan", "--flops", "1e21", "--law", tmp_path / "fit.json")
    assert code == 2 and out == "" and "not identified" in err


def test_identified_fit_prints_value_and_range(runs_csv, capsys):
    code, out, _ = run_cli(capsys, "fit", runs_csv, "--approach", "3", "--json")
    fit = json.loads(out)
    assert code == 0 and fit["identified"] is True and fit["identification"].startswith("identified")
    lo, hi = fit["near_optimal_ranges"]["a"]
    assert lo < fit["a"] < hi and hi - lo < 0.1


def test_bootstrap_with_diverging_refits_reports_failures(tmp_path, capsys):
    """Runs whose loss rises with N and D: every refit runs off along the ridge (beta large,
    alpha <= 0); the bootstrap must count them and say the interval is not determined."""
    n = np.repeat(np.logspace(8, 10, 6), 6)
    d = np.tile(np.logspace(9, 11, 6), 6)
    loss = 2 + 0.05 * np.log(n / 1e8) + 0.03 * np.log(d / 1e9)
    path = tmp_path / "rising.csv"
    pd.DataFrame({"N": n, "D": d, "loss": loss}).to_csv(path, index=False)
    code, out, err = run_cli(capsys, "fit", path, "--approach", "3", "--bootstrap", "20", "--json")
    fit = json.loads(out)
    assert code == 0 and err == "" and fit["identified"] is False
    assert fit["bootstrap"]["n_failed"] > 10 and fit["bootstrap"]["interval_determined"] is False
    code, out, err = run_cli(capsys, "fit", path, "--approach", "3", "--bootstrap", "20")
    assert code == 0 and err == "" and "refits failed" in out and "not determined" in out


def test_approach2_says_why_a_budget_is_left_out(tmp_path, capsys):
    # The largest budget samples only sizes well below its optimum: its parabola's vertex falls
    # outside the sampled sizes, and the table says so instead of a bare "no".
    runs = synthetic_runs()
    c = 1e22
    n_opt = float(sl.compute_optimal_allocation(sl.HOFFMANN2022, c).params)
    runs = runs[runs.C != c]
    extra = pd.DataFrame({"N": n_opt * np.logspace(-2.0, -1.2, 5), "C": c})
    extra["loss"] = [float(sl.HOFFMANN2022.loss_at_compute(n, c)) for n in extra.N]
    path = tmp_path / "runs.csv"
    pd.concat([runs, extra]).to_csv(path, index=False)
    code, out, err = run_cli(capsys, "fit", path, "--approach", "2")
    assert code == 0, err
    assert out.count("  yes") == 4
    assert "no: the minimum lies outside the sampled sizes" in out
