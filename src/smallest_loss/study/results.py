"""Results of a study on disk: one JSON file per finished run, written atomically, merged into
``runs.csv`` and ``curves.csv``.

Layout of an output folder::

    DIR/study.json        the study: preset, corpus, seed, the source's description (for the
                          synthetic source its exact entropy rate), the run names of the design
    DIR/runs/NAME.json    one finished run: its runs.csv row and its curve
    DIR/runs.csv          run, params, params_nonembedding, tokens, flops, loss, budget, ... (one row per run)
    DIR/curves.csv        run, step, tokens, flops, loss (one row per evaluation)

Every file is written to a temporary name in the same folder and renamed over the final one
(``os.replace`` is atomic), so a killed sweep leaves whole files or none; the CSV files are
rebuilt from the per-run files after each finished run, sorted by run name, so the merged result
does not depend on the order in which runs finished.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["RUN_COLUMNS", "CURVE_COLUMNS", "write_atomic", "write_run", "read_runs_dir", "merge",
           "check_out_dir", "write_manifest", "StudyResults", "read_study"]

RUN_COLUMNS = ["run", "params", "params_nonembedding", "tokens", "flops", "loss", "budget", "corpus",
               "n_layer", "d_model", "n_heads", "n_ctx", "batch", "steps", "lr", "epochs", "seed", "device",
               "threads", "wall_s", "tokens_per_s", "flops_per_s", "version", "commit"]
CURVE_COLUMNS = ["run", "step", "tokens", "flops", "loss"]
MANIFEST = "study.json"
IDENTITY = ("preset", "corpus", "seed")
"""What a folder's study.json must match for a rerun to resume it."""


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_run(out: Path, result: dict) -> Path:
    """Store one finished run as ``out/runs/NAME.json`` (atomically)."""
    path = Path(out) / "runs" / f"{result['row']['run']}.json"
    write_atomic(path, json.dumps(result, indent=1, allow_nan=False))
    return path


def read_runs_dir(out: Path, names: list[str] | None = None) -> dict[str, dict]:
    """The finished runs in ``out/runs`` (restricted to ``names`` when given), by name."""
    found = {}
    for path in sorted((Path(out) / "runs").glob("*.json")):
        name = path.stem
        if names is not None and name not in names:
            continue
        try:
            found[name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:  # not written by us (ours are atomic): refuse it
            raise ValueError(f"{path}: not a readable run file ({type(exc).__name__}); remove it and rerun") from None
    return found


def merge(out: Path, names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rebuild ``runs.csv`` and ``curves.csv`` from the finished runs of ``names``; return both frames."""
    results = read_runs_dir(out, names)
    rows = [results[n]["row"] for n in sorted(results)]
    curve = [p for n in sorted(results) for p in results[n]["curve"]]
    runs = pd.DataFrame(rows, columns=RUN_COLUMNS)
    curves = pd.DataFrame(curve, columns=CURVE_COLUMNS)
    write_atomic(Path(out) / "runs.csv", runs.to_csv(index=False, float_format="%.17g"))
    write_atomic(Path(out) / "curves.csv", curves.to_csv(index=False, float_format="%.17g"))
    return runs, curves


def check_out_dir(out: Path, identity: dict) -> None:
    """Refuse an output folder that cannot hold this study: a file, or a folder whose study.json
    belongs to another preset, corpus or seed, or that holds results without a study.json.
    Writes nothing."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    manifest = out / MANIFEST
    if manifest.exists():
        try:
            found = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError(f"--out {out}: {MANIFEST} is not a study file; use another folder") from None
        if not isinstance(found, dict):
            raise ValueError(f"--out {out}: {MANIFEST} is not a study file; use another folder")
        for key in IDENTITY:
            if found.get(key) != identity[key]:
                raise ValueError(
                    f"--out {out}: holds the runs of {key} {found.get(key)!r}, not {identity[key]!r}; "
                    "use another folder")
    elif (out / "runs").exists() or (out / "runs.csv").exists():
        raise ValueError(f"--out {out}: holds runs.csv or runs/ but no {MANIFEST}; use another folder")


def write_manifest(out: Path, manifest: dict) -> None:
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    write_atomic(out / MANIFEST, json.dumps(manifest, indent=1, allow_nan=False))


# --- reading a study back (chapter 12) ------------------------------------------------------------

PROVENANCE = "provenance.json"
"""Optional: how a committed copy of a study was produced (``data/study/import_laptop.py``)."""


@dataclass(frozen=True, eq=False)
class StudyResults:
    """A study read back from its folder. manifest: ``study.json`` (preset, corpus, seed, source,
    the design's run names); runs: ``runs.csv`` (one row per finished run; ``params``, ``tokens``
    [tokens], ``flops`` [FLOP], ``loss`` [nats/token], ...); curves: ``curves.csv`` (held-out loss
    [nats/token] at log-spaced steps); provenance: ``provenance.json`` when the folder has one, else
    ``{}``."""

    folder: Path
    manifest: dict
    runs: pd.DataFrame = field(repr=False)
    curves: pd.DataFrame = field(repr=False)
    provenance: dict = field(default_factory=dict, repr=False)

    @property
    def missing(self) -> list[str]:
        """Runs of the design without a row in ``runs.csv`` (empty when the study is complete)."""
        have = set(self.runs["run"])
        return [n for n in self.manifest.get("runs", []) if n not in have]

    @property
    def complete(self) -> bool:
        return not self.missing


def read_study(folder: str | Path, require_complete: bool = True) -> StudyResults:
    """Read ``study.json``, ``runs.csv``, ``curves.csv`` (and ``provenance.json`` if present) from
    ``folder``, a study's output folder or a committed copy of one (``data/study/laptop_*``).

    Checks that the CSV files have the engine's columns, that every run has a curve whose last
    point is its final loss, and (``require_complete``) that every run of the design is there;
    otherwise ValueError naming the folder and what is wrong.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"study folder {folder}: not found")
    for name in (MANIFEST, "runs.csv", "curves.csv"):
        if not (folder / name).is_file():
            raise ValueError(f"study folder {folder}: no {name}")
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"study folder {folder}: {MANIFEST} is not a study file") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("runs"), list):
        raise ValueError(f"study folder {folder}: {MANIFEST} has no list of runs")
    runs = pd.read_csv(folder / "runs.csv")
    curves = pd.read_csv(folder / "curves.csv")
    for label, frame, cols in (("runs.csv", runs, RUN_COLUMNS), ("curves.csv", curves, CURVE_COLUMNS)):
        absent = [c for c in cols if c not in frame.columns]
        if absent:
            raise ValueError(f"study folder {folder}: {label} lacks column {absent[0]!r}")
    if runs["run"].duplicated().any():
        raise ValueError(f"study folder {folder}: runs.csv repeats run {runs.run[runs.run.duplicated()].iloc[0]!r}")
    unknown = sorted(set(runs["run"]) - set(manifest["runs"]))
    if unknown:
        raise ValueError(f"study folder {folder}: run {unknown[0]!r} of runs.csv is not in the design")
    last = curves.sort_values(["run", "step"]).groupby("run")["loss"].last()
    for name, loss in zip(runs["run"], runs["loss"]):
        if name not in last.index:
            raise ValueError(f"study folder {folder}: run {name!r} has no curve in curves.csv")
        if not np.isclose(last[name], loss, rtol=1e-12, atol=0.0):
            raise ValueError(f"study folder {folder}: run {name!r}: final loss {loss!r} is not the "
                             f"last point of its curve ({last[name]!r})")
    provenance = {}
    if (folder / PROVENANCE).is_file():
        provenance = json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))
    res = StudyResults(folder=folder, manifest=manifest, runs=runs, curves=curves, provenance=provenance)
    if require_complete and res.missing:
        raise ValueError(f"study folder {folder}: {len(res.missing)} of {len(manifest['runs'])} runs of the "
                         f"design are missing (e.g. {res.missing[0]!r})")
    return res
