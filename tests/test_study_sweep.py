"""Sweeps of the study: the tiny preset end to end (a local worker pool, then a killed run resumed
through a real Dask scheduler and worker on 127.0.0.1), results that do not depend on where a run
executed, a run failing mid-way, and bad input (one line, exit 2, nothing written)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("distributed")

from smallest_loss.cli import main  # noqa: E402
from smallest_loss.study import MarkovSource, RunSpec, run_sweep  # noqa: E402
from smallest_loss.study.results import CURVE_COLUMNS, RUN_COLUMNS  # noqa: E402

BIN = Path(sys.executable).parent
# Everything in runs.csv that a run determines (wall time and speed vary from run to run).
DETERMINED = [c for c in RUN_COLUMNS if c not in ("wall_s", "tokens_per_s", "flops_per_s")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler():
    """A real Dask scheduler and a worker (2 processes, 1 thread each) on the loopback address."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--host", "127.0.0.1", "--nworkers", "2",
                                   "--nthreads", "1", "--no-dashboard"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True))
    try:
        from distributed import Client

        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in reversed(procs):  # each started in its own session: end the group we started
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def study(capsys, *argv):
    code = main(["study", *[str(a) for a in argv]])
    out, err = capsys.readouterr()
    return code, out, err


def determined(out_dir):
    runs = pd.read_csv(Path(out_dir) / "runs.csv")[DETERMINED]
    curves = pd.read_csv(Path(out_dir) / "curves.csv")
    return runs, curves


@pytest.fixture(scope="module")
def tiny_local(tmp_path_factory):
    """The tiny preset through the command, on the default local pool of worker processes."""
    out = tmp_path_factory.mktemp("tiny") / "local"
    code = main(["study", "--preset", "tiny", "--out", str(out)])
    assert code == 0
    return out


def test_tiny_preset_end_to_end(tiny_local, capsys):
    runs = pd.read_csv(tiny_local / "runs.csv")
    curves = pd.read_csv(tiny_local / "curves.csv")
    assert list(runs.columns) == RUN_COLUMNS and list(curves.columns) == CURVE_COLUMNS
    assert len(runs) == len(json.loads((tiny_local / "study.json").read_text())["runs"]) == 11
    assert (runs["flops"] == 6.0 * runs["params"] * runs["tokens"]).all()
    assert runs["loss"].between(1.0, 4.3).all()  # below uniform over 65 characters (4.17) + noise
    assert set(curves["run"]) == set(runs["run"])
    last = curves.sort_values("step").groupby("run").last()
    assert (last.loc[runs["run"], "loss"].to_numpy() == runs["loss"].to_numpy()).all()
    assert (runs["threads"] == 1).all() and (runs["device"] == "cpu").all()
    # the output is an ordinary runs file for the fit command
    assert main(["fit", str(tiny_local / "runs.csv"), "--approach", "3", "--json"]) == 0
    fit3 = json.loads(capsys.readouterr().out)
    assert fit3["n_points"] == 11
    assert main(["fit", str(tiny_local / "curves.csv"), "--approach", "1", "--json"]) == 0
    assert "a" in json.loads(capsys.readouterr().out)
    # a rerun finds every run finished and trains nothing
    code, out, err = study(capsys, "--preset", "tiny", "--out", tiny_local)
    assert code == 0 and "0 trained, 11 already done" in out and "ETA" in err


def test_killed_tiny_study_resumes_through_a_dask_cluster(tiny_local, scheduler, tmp_path, capsys):
    out = tmp_path / "resumed"
    proc = subprocess.Popen([str(BIN / "smallest-loss"), "study", "--preset", "tiny", "--out", str(out),
                             "--workers", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(list((out / "runs").glob("*.json"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.kill()  # SIGKILL: no clean-up of any kind
    proc.wait()
    finished = sorted(p.stem for p in (out / "runs").glob("*.json"))
    assert 2 <= len(finished) < 11
    partial = pd.read_csv(out / "runs.csv")
    assert sorted(partial["run"]) == finished  # whole rows of finished runs, nothing else
    code, text, err = study(capsys, "--preset", "tiny", "--out", out, "--scheduler", scheduler)
    assert code == 0, err
    assert f"{11 - len(finished)} trained, {len(finished)} already done" in text
    runs, curves = determined(out)
    want_runs, want_curves = determined(tiny_local)
    pd.testing.assert_frame_equal(runs, want_runs, check_exact=True)
    pd.testing.assert_frame_equal(curves, want_curves, check_exact=True)
    assert not list(out.rglob("*.tmp"))


def micro_specs():
    return [RunSpec(name=f"m{i}", corpus="synthetic", budget=1e8, n_layer=1, d_model=16, n_heads=2, vocab_size=32,
                    n_ctx=16, batch=8, steps=steps, lr=3e-3, n_eval=4, eval_seqs=16)
            for i, steps in enumerate((50, 40, 30))]


MANIFEST = {"preset": "micro", "corpus": "synthetic", "seed": 0}


def test_a_run_killed_mid_way_leaves_no_row_and_the_rerun_completes(tmp_path):
    src = MarkovSource()
    clean = run_sweep(micro_specs(), tmp_path / "clean", MANIFEST, source=src, workers=0, progress=False)
    out = tmp_path / "broken"
    with pytest.raises(RuntimeError, match="m1: stopped after 20 steps"):
        run_sweep(micro_specs(), out, MANIFEST, source=src, workers=0, progress=False, fail={"m1": 20})
    assert sorted(p.stem for p in (out / "runs").glob("*")) == ["m0"]  # largest first; m1 died mid-way
    assert list(pd.read_csv(out / "runs.csv")["run"]) == ["m0"]
    again = run_sweep(micro_specs(), out, MANIFEST, source=src, workers=0, progress=False)
    assert again["trained"] == 2 and again["skipped"] == 1
    pd.testing.assert_frame_equal(again["runs"][DETERMINED], clean["runs"][DETERMINED], check_exact=True)
    pd.testing.assert_frame_equal(again["curves"], clean["curves"], check_exact=True)


def test_bad_preset_or_corpus_is_one_line_exit_2_nothing_written(tmp_path, capsys):
    for argv in (["--preset", "huge"], ["--preset", "tiny", "--corpus", "wikitext"],
                 ["--preset", "tiny", "--seed", "-1"]):
        code, out, err = study(capsys, *argv, "--out", tmp_path / "x")
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "x").exists()


def test_folder_of_another_study_is_refused_and_left_alone(tiny_local, tmp_path, capsys):
    before = {p: p.stat().st_mtime_ns for p in tiny_local.rglob("*")}
    for argv in (["--preset", "laptop"], ["--preset", "tiny", "--corpus", "synthetic"],
                 ["--preset", "tiny", "--seed", "1"]):
        code, out, err = study(capsys, *argv, "--out", tiny_local)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert "holds the runs of" in err
    assert {p: p.stat().st_mtime_ns for p in tiny_local.rglob("*")} == before
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "runs.csv").write_text("run,loss\n")
    code, out, err = study(capsys, "--preset", "tiny", "--out", stray)
    assert code == 2 and "no study.json" in err and sorted(os.listdir(stray)) == ["runs.csv"]
    afile = tmp_path / "file"
    afile.write_text("x")
    code, out, err = study(capsys, "--preset", "tiny", "--out", afile)
    assert code == 2 and "not a folder" in err


def test_unreachable_scheduler_is_one_line_exit_2_nothing_written(tmp_path, capsys):
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    t0 = time.monotonic()
    code, out, err = study(capsys, "--preset", "tiny", "--out", tmp_path / "y", "--scheduler", address,
                           "--timeout", "2")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert address in err and "cannot reach" in err
    assert not (tmp_path / "y").exists()
    assert time.monotonic() - t0 < 60
    code, out, err = study(capsys, "--preset", "tiny", "--out", tmp_path / "y", "--scheduler", address,
                           "--workers", "2")
    assert code == 2 and "--workers" in err and not (tmp_path / "y").exists()
