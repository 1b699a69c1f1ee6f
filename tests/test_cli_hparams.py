"""`smallest-loss hparams`: recovery of known exponents from synthetic sweeps, every bad input
ending in exit status 2 with one line, and hypothesis property tests of that contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smallest_loss.cli import main

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def write_sweep(path, p=-0.7, q=0.3, bq=0.55, noise=0.001, batch=True, seed=0, header=None):
    rng = np.random.default_rng(seed)
    lines = [header or ("params,tokens,lr,batch,loss" if batch else "params,tokens,lr,loss")]
    for n in (1e8, 3e8, 1e9):
        for d in (2e9, 8e9, 3e10):
            lr0 = 3.0 * n ** p * d ** q
            b0 = 0.5 * d ** bq
            for lr in lr0 * 2.0 ** np.arange(-3.1, 3.0, 0.5):
                for b in (b0 * 2.0 ** np.arange(-2.2, 2.5) if batch else [None]):
                    loss = 2 + 0.05 * np.log(lr / lr0) ** 2 + rng.normal(0, noise)
                    if batch:
                        loss += 0.02 * np.log(b / b0) ** 2
                        lines.append(f"{n:g},{d:g},{lr:.6g},{b:.6g},{loss:.6f}")
                    else:
                        lines.append(f"{n:g},{d:g},{lr:.6g},{loss:.6f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("p,q,bq", [(-0.7, 0.3, 0.55), (-0.5, -0.2, 0.4), (-1.0, 0.1, 0.7)])
def test_recovers_exponents_within_005(tmp_path, capsys, p, q, bq):
    path = write_sweep(tmp_path / "runs.csv", p, q, bq)
    code, out, err = run(capsys, ["hparams", path, "--json"])
    assert code == 0, err
    res = json.loads(out)
    assert res["lr"]["params_exponent"] == pytest.approx(p, abs=0.05)
    assert res["lr"]["tokens_exponent"] == pytest.approx(q, abs=0.05)
    assert res["batch"]["tokens_exponent"] == pytest.approx(bq, abs=0.05)
    assert res["batch"]["params_exponent"] == pytest.approx(0.0, abs=0.05)
    assert res["n_runs"] == 9 * 13 * 5 and len(res["cells"]) == 9
    assert not any(c["lr_edge"] for c in res["cells"])


def test_without_batch_and_bootstrap(tmp_path, capsys):
    path = write_sweep(tmp_path / "runs.csv", batch=False, noise=0.003)
    code, out, err = run(capsys, ["hparams", path, "--json", "--bootstrap", "20", "--seed", "4"])
    assert code == 0, err
    res = json.loads(out)
    assert res["batch"] is None
    lo, hi = res["lr"]["ci95"]["tokens_exponent"]
    assert lo <= res["lr"]["tokens_exponent"] <= hi
    assert res["lr"]["se"]["params_exponent"] > 0
    assert res["bootstrap"] == {"n": 20, "n_failed": 0, "seed": 4}
    code2, out2, _ = run(capsys, ["hparams", path, "--json", "--bootstrap", "20", "--seed", "4"])
    assert out2 == out  # seeded


def test_text_output_and_aliases(tmp_path, capsys):
    path = write_sweep(tmp_path / "runs.csv", header="N,D,learning_rate,batch_size,L")
    code, out, err = run(capsys, ["hparams", path])
    assert code == 0, err
    assert "optimal learning rate = " in out and "optimal batch [tokens] = " in out


def test_edge_cells_flagged(tmp_path, capsys):
    rows = ["params,tokens,lr,loss"]
    for n in (1e8, 3e8, 1e9):
        for d in (2e9, 8e9, 3e10):
            for lr in (1e-4, 2e-4, 4e-4):
                rows.append(f"{n:g},{d:g},{lr},{3.0 - 1000 * lr * (1 + n / 1e10):.6f}")
    path = tmp_path / "edge.csv"
    path.write_text("\n".join(rows) + "\n")
    code, out, err = run(capsys, ["hparams", path, "--json"])
    assert code == 0, err
    cells = json.loads(out)["cells"]
    assert all(c["lr_edge"] and c["lr"] == pytest.approx(4e-4) for c in cells)


BAD = {
    "missing column": ("params,tokens,loss\n1e8,1e9,2\n", "missing column(s) 'lr'"),
    "nan": ("params,tokens,lr,loss\n1e8,1e9,nan,2\n", "value is NaN"),
    "negative": ("params,tokens,lr,loss\n1e8,1e9,-1e-3,2\n", "is not a finite positive number"),
    "zero": ("params,tokens,lr,loss\n0,1e9,1e-3,2\n", "is not a finite positive number"),
    "two lrs per cell": ("params,tokens,lr,loss\n" + "".join(
        f"{n},{d},{lr},2\n" for n in (1e8, 2e8) for d in (1e9, 2e9, 4e9) for lr in (1e-3, 2e-3)),
        "fewer than 3 distinct learning rates"),
    "two cells": ("params,tokens,lr,loss\n" + "".join(
        f"{n},{n * 10},{lr},{2 + lr}\n" for n in (1e8, 2e8) for lr in (1e-3, 2e-3, 4e-3)),
        "need at least 3 (params, tokens) cells, got 2"),
    "collinear": ("params,tokens,lr,loss\n" + "".join(
        f"{n},{n * 10},{lr},{2 + lr}\n" for n in (1e8, 2e8, 4e8) for lr in (1e-3, 2e-3, 4e-3)),
        "do not vary params and tokens independently"),
    "duplicate alias": ("params,N,tokens,lr,loss\n1,1,1,1,1\n", "both given"),
    "empty": ("", "the file is empty"),
    "no rows": ("params,tokens,lr,loss\n", "no data rows"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, name):
    text, message = BAD[name]
    path = tmp_path / "runs.csv"
    path.write_text(text)
    code, out, err = run(capsys, ["hparams", path])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("argv,message", [
    (["--bootstrap", "1"], "must be at least 2"),
    (["--bootstrap", "x"], "is not an integer"),
    (["--seed", "-1"], "non-negative"),
])
def test_bad_arguments(tmp_path, capsys, argv, message):
    path = write_sweep(tmp_path / "runs.csv")
    code, out, err = run(capsys, ["hparams", path, *argv])
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_missing_file(tmp_path, capsys):
    code, out, err = run(capsys, ["hparams", tmp_path / "nope.csv"])
    assert code == 2 and "no such file" in err


COLUMNS = ["params", "tokens", "lr", "loss", "batch", "N", "D", "L", "eta", "x", ""]
VALUES = ["nan", "inf", "-1", "0", "1e400", "", "abc", "1e-3", "2e-3", "4e-3", "1e8", "3e8",
          "1e9", "2.1", "2.0", "\"1,5\""]


@st.composite
def csv_text(draw):
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=0, max_size=6))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        rows.append(",".join(draw(st.sampled_from(VALUES)) for _ in range(max(width, 0))))
    return "\n".join([",".join(header)] + rows) + "\n"


def check_contract(code, out, err, as_json):
    assert code in (0, 2), err
    if code == 0:
        assert out.strip()
        if as_json:
            json.loads(out)
    else:
        assert out == ""
        assert err.count("\n") == 1 and err.startswith("smallest-loss") and "internal error" not in err


@SETTINGS
@given(text=csv_text(), as_json=st.booleans(), boot=st.sampled_from([None, "2", "5"]))
def test_malformed_csv_keeps_the_contract(tmp_path, capsys, text, as_json, boot):
    path = tmp_path / "runs.csv"
    path.write_text(text, encoding="utf-8")
    argv = ["hparams", path] + (["--json"] if as_json else []) + (["--bootstrap", boot] if boot else [])
    check_contract(*run(capsys, argv), as_json)


@st.composite
def plausible_sweep(draw):
    n_cells = draw(st.integers(1, 5))
    lines = ["params,tokens,lr,loss"]
    for _ in range(n_cells):
        n = draw(st.sampled_from([1e7, 1e8, 1e9]))
        d = draw(st.sampled_from([1e9, 1e10, 1e11]))
        for lr in draw(st.lists(st.sampled_from([1e-4, 2e-4, 4e-4, 8e-4]), min_size=1, max_size=4)):
            loss = draw(st.floats(min_value=1.5, max_value=4.0))
            lines.append(f"{n:g},{d:g},{lr:g},{loss:.4f}")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(text=plausible_sweep(), boot=st.sampled_from([None, "3"]))
def test_plausible_sweeps_keep_the_contract(tmp_path, capsys, text, boot):
    path = tmp_path / "runs.csv"
    path.write_text(text, encoding="utf-8")
    argv = ["hparams", path, "--json"] + (["--bootstrap", boot] if boot else [])
    check_contract(*run(capsys, argv), True)


@SETTINGS
@given(data=st.binary(max_size=200))
def test_random_bytes_keep_the_contract(tmp_path, capsys, data):
    path = tmp_path / "runs.csv"
    path.write_bytes(data)
    check_contract(*run(capsys, ["hparams", path]), False)
