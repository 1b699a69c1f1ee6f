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
from pathlib import Path

import pandas as pd

__all__ = ["RUN_COLUMNS", "CURVE_COLUMNS", "write_atomic", "write_run", "read_runs_dir", "merge",
           "check_out_dir", "write_manifest"]

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
