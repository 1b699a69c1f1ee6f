"""Running a study's runs: in this process, on a local pool of worker processes, or on an existing
Dask cluster, skipping runs already finished.

Runs are independent tasks. :func:`run_sweep` sends the unfinished ones to a
``dask.distributed`` cluster -- a ``distributed.LocalCluster`` of worker processes by
default, or the scheduler at ``scheduler`` (for example one started under SLURM or PBS with
``dask-jobqueue``) -- or, with ``workers=0``, trains them one after another in this process. Each
finished run comes back to this process, which alone writes the output folder (the workers need
no shared file system): the run's file atomically, then the merged CSV files. A rerun of the same
command finds the finished runs and trains only the others, so a killed sweep loses at most the
runs that were in flight. The token source is loaded here and sent to the workers once
(``Client.scatter``), so the workers need neither the network nor the data mirror; they need this
library and the same torch version (the same seed, device kind and thread count then give the
same loss on any worker: ``tests/test_study_sweep.py`` checks it bit for bit on CPU).

A cluster on an HPC machine, started with ``dask-jobqueue`` (not a dependency of this library)
from a login node, then used as ``smallest-loss study ... --scheduler ADDRESS``::

    from dask_jobqueue import SLURMCluster            # or PBSCluster
    cluster = SLURMCluster(cores=4, processes=4, memory="16GB", walltime="02:00:00")
    cluster.scale(jobs=4)                             # 4 batch jobs of 4 single-thread workers
    print(cluster.scheduler_address)                  # tcp://...: pass it to --scheduler

or from the shell: ``dask scheduler`` on one node and ``dask worker ADDRESS --nthreads 1`` on the
others (``--nthreads 1``: each run sets its own torch thread count).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Callable, TextIO

from .. import __version__
from . import results
from .train import RunSpec, train_run

__all__ = ["run_sweep", "Progress", "git_commit", "connect", "available_cores", "SweepResult"]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the library's checkout (``git rev-parse HEAD``), or "" outside a git checkout."""
    try:
        proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """A progress bar on ``stream``: runs done, share of the FLOPs done, elapsed time and an ETA
    from the FLOP rate so far. On a terminal it redraws one line; elsewhere (logs, CI) it prints
    one line per finished run."""

    def __init__(self, label: str, total_runs: int, total_flops: float, done_runs: int = 0,
                 stream: TextIO | None = None, width: int = 24) -> None:
        self.label, self.total_runs, self.total_flops = label, total_runs, total_flops
        self.done_runs, self.done_flops, self.new_flops = done_runs, 0.0, 0.0
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.start = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        frac = self.done_flops / self.total_flops if self.total_flops else 1.0
        filled = int(round(frac * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        remaining = self.total_flops - self.done_flops
        eta = _fmt_time(elapsed * remaining / self.new_flops) if self.new_flops > 0 else "?"
        if remaining <= 0:
            eta = "0:00"
        return (f"{self.label} [{bar}] {self.done_runs}/{self.total_runs} runs, {100 * frac:.0f}% of FLOPs, "
                f"{_fmt_time(elapsed)} elapsed, ETA {eta}")

    def update(self, flops: float, new: bool = True) -> None:
        self.done_runs += 1
        self.done_flops += flops
        if new:
            self.new_flops += flops
        self.show()

    def show(self) -> None:
        if self.tty:
            self.stream.write("\r" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def connect(scheduler: str, timeout: float = 10.0):
    """A ``distributed.Client`` of the scheduler at ``scheduler`` (``tcp://HOST:PORT`` or
    ``HOST:PORT``); ValueError naming the address when it cannot be reached in ``timeout`` s."""
    from distributed import Client

    if not isinstance(scheduler, str) or not scheduler.strip() or any(c.isspace() for c in scheduler.strip()):
        raise ValueError(f"--scheduler {scheduler!r} is not an address such as tcp://127.0.0.1:8786")
    try:
        return Client(scheduler.strip(), timeout=timeout, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, ValueError (bad address), ...
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ValueError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({reason})") from None


class SweepResult(dict):
    """``run_sweep``'s answer: runs (DataFrame), curves (DataFrame), trained, skipped, wall_s."""


def _default_workers(todo: list[RunSpec]) -> int:
    """One worker when the runs use CUDA (every local worker would share the first GPU; for several
    GPUs start a Dask cluster with one worker per GPU, each seeing one through
    ``CUDA_VISIBLE_DEVICES``), else one per ``threads`` cores."""
    from .train import device_kind

    if any(device_kind(s.device) == "cuda" for s in todo):
        return 1
    return max(1, available_cores() // max(s.threads for s in todo))


def _local_client(workers: int):
    import logging

    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    return Client(cluster, set_as_default=False), cluster


def run_sweep(
    specs: list[RunSpec], out: str | Path, manifest: dict, *, source, scheduler: str | None = None,
    client=None, workers: int | None = None, progress: bool | TextIO = True, label: str = "study",
    fail: dict[str, int] | None = None, on_result: Callable[[dict], None] | None = None,
    connect_timeout: float = 10.0,
) -> SweepResult:
    """Train the runs of ``specs`` not yet finished in ``out``; merge all of them into ``runs.csv``
    and ``curves.csv``.

    ``manifest``: the study's description written to ``out/study.json`` (its ``preset``, ``corpus``
    and ``seed`` must match a folder that already holds runs). ``source``: the token source.
    Execution: ``client`` (a ``distributed.Client``), else ``scheduler`` (an address), else
    ``workers`` local worker processes (default: one per core divided by the runs' threads), or
    this process when ``workers == 0``. ``fail`` (tests): ``{run: steps}`` stops that run after so
    many steps with an error, as a run killed mid-way. ``on_result`` is called with each finished
    run after it is stored. Bad input (folder, address) raises ValueError before anything is written.
    """
    out = Path(out)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("two runs of the design share a name")
    results.check_out_dir(out, manifest)
    own_client = None
    if client is None and scheduler is not None:
        own_client = client = connect(scheduler, connect_timeout)
    try:
        manifest = {**manifest, "runs": names, "version": __version__, "commit": git_commit()}
        results.write_manifest(out, manifest)
        done = results.read_runs_dir(out, names)
        todo = sorted((s for s in specs if s.name not in done), key=lambda s: -s.flops)
        stream = progress if hasattr(progress, "write") else (sys.stderr if progress else io.StringIO())
        bar = Progress(label, len(specs), sum(s.flops for s in specs), stream=stream)
        for s in specs:
            if s.name in done:
                bar.done_runs += 1
                bar.done_flops += s.flops
        if done:
            bar.show()
        start = time.perf_counter()

        def store(result: dict) -> None:
            result["row"].update(version=__version__, commit=git_commit())
            results.write_run(out, result)
            results.merge(out, names)
            bar.update(result["row"]["flops"])
            if on_result is not None:
                on_result(result)

        fail = fail or {}
        if not todo:
            pass
        elif client is None and workers == 0:
            for s in todo:
                store(train_run(s, source, fail_after_steps=fail.get(s.name)))
        else:
            local = None
            if client is None:
                n = workers if workers else _default_workers(todo)
                client, local = _local_client(min(n, len(todo)))
            try:
                with client.as_current():
                    _run_on(client, todo, source, fail, store)
            finally:
                if local is not None:
                    client.close()
                    local.close()
        bar.close()
        runs, curves = results.merge(out, names)
        return SweepResult(runs=runs, curves=curves, trained=len(todo), skipped=len(done),
                           wall_s=time.perf_counter() - start)
    finally:
        if own_client is not None:
            own_client.close()


def _run_on(client, todo: list[RunSpec], source, fail: dict[str, int], store) -> None:
    from distributed import as_completed

    src = client.scatter(source, broadcast=True, hash=False)
    futures = [client.submit(train_run, asdict(s), src, fail.get(s.name), pure=False,
                             key=f"study-{s.name}-{os.getpid()}-{time.monotonic_ns()}") for s in todo]
    try:
        for fut in as_completed(futures):
            store(fut.result())
    except BaseException:
        client.cancel(futures)
        raise
