"""Copy a finished ``smallest-loss study --preset laptop`` into ``data/study/laptop_<corpus>/``
with its provenance (chapter 12 reads these files).

    .venv/bin/python data/study/import_laptop.py synthetic [shakespeare] [--runs-root /work/runs]

For each corpus it expects, under ``--runs-root`` (the layout of the project's run script)::

    times.log                 "start <corpus> <UTC>" and "end <corpus> rc=<code> <UTC>" lines
    commit.txt                the commit the study ran at
    <corpus>.err              the study's progress lines (and ``/usr/bin/time -v`` output, if any)
    laptop_<corpus>/          the study's output folder (study.json, runs/, runs.csv, curves.csv)

It refuses (exit 2, one line) a study that has not ended with rc=0, or whose output folder lacks
runs of its design. It then writes ``data/study/laptop_<corpus>/``: ``study.json``, ``runs.csv`` and
``curves.csv`` (rebuilt from the per-run files, sorted by run name, as the engine merges them),
``provenance.json`` (machine-readable) and ``PROVENANCE.md``: the command, commit, machine, dates,
wall time and CPU time from ``/usr/bin/time``, and the machine's single-thread float32 matmul peak
measured now with ``benchmarks/bench_study.py``'s ``matmul_peak`` (the denominator of the CPU MFU
in chapter 12). Nothing under ``--runs-root`` is written.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pandas as pd  # noqa: E402

from smallest_loss.study import results  # noqa: E402

DEST = Path(__file__).resolve().parent
TIME_FIELDS = {
    "Elapsed (wall clock) time (h:mm:ss or m:ss)": "elapsed",
    "User time (seconds)": "user_s",
    "System time (seconds)": "system_s",
    "Maximum resident set size (kbytes)": "max_rss_kb",
    "Percent of CPU this job got": "cpu_percent",
}


def fail(msg: str) -> None:
    print(f"import_laptop: {msg}", file=sys.stderr)
    raise SystemExit(2)


def parse_times_log(path: Path, corpus: str, label: str | None = None,
                    accept_rc: bool = False) -> tuple[str, str, int]:
    """(start, end, rc) of ``corpus``'s last finished entry in the run script's times.log: lines
    ``start <corpus> [label] <UTC>`` and ``end <corpus> [label] rc=<code> <UTC>``; other lines
    (notes) are ignored. With ``label`` (e.g. ``"subset"``) only the lines with that label count;
    without, a later ``start`` replaces an earlier one (a study restarted)."""
    if not path.is_file():
        fail(f"{path}: not found")
    start = end = None
    rc = None
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] != corpus or not parts[-1].endswith("Z"):
            continue
        words = " ".join(p for p in parts[2:-1] if not p.startswith("rc="))
        if label is not None and words != label and not words.startswith(label + " ("):
            continue  # "start <corpus> extras (why) <UTC>" ... "end <corpus> extras rc=0 <UTC>"
        if parts[0] == "start":
            start, end, rc = parts[-1], None, None
        elif parts[0] == "end" and start is not None:
            codes = [p for p in parts if p.startswith("rc=")]
            end, rc = parts[-1], int(codes[0][3:]) if codes else None
    what = f"'{corpus}'" + (f" ({label})" if label else "")
    if start is None or end is None:
        fail(f"{path}: no finished {what} study (start and end lines); wait for it to end")
    if rc != 0 and not accept_rc:
        fail(f"{path}: the {what} study ended with rc={rc}; nothing imported (--accept-rc imports "
             "it anyway when every run of its design finished)")
    return start, end, rc


def parse_time_v(path: Path) -> dict:
    """The fields of ``/usr/bin/time -v`` found in ``path`` (seconds as floats)."""
    out: dict = {}
    if not path.is_file():
        return out
    for line in path.read_text(errors="replace").splitlines():
        key, _, value = line.strip().rpartition(": ")
        if key == "Command being timed":
            out["command"] = value.strip().strip('"')
        elif key in TIME_FIELDS:
            name = TIME_FIELDS[key]
            if name == "elapsed":
                secs = 0.0
                for part in value.split(":"):
                    secs = secs * 60 + float(part)
                out["elapsed_s"] = secs
            else:
                out[name] = float(value.rstrip("%"))
    return out


def machine() -> dict:
    """CPU model, cores and memory of this machine (``lscpu``, ``/proc/meminfo``)."""
    info = {"platform": platform.platform(), "python": platform.python_version()}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for key in ("Model name", "CPU(s)", "Thread(s) per core", "Hypervisor vendor"):
            m = re.search(rf"^{re.escape(key)}:\s*(.+)$", text, re.M)
            if m:
                info[key.lower().replace("(s)", "s").replace(" ", "_")] = m.group(1).strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        m = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        if m:
            info["memory_gib"] = round(int(m.group(1)) / 2**20, 1)
    except OSError:
        pass
    import torch

    info["torch"] = torch.__version__
    return info


def read_part(runs_root: Path, corpus: str, preset: str, folder: str, err: str, label: str | None,
              accept_rc: bool) -> dict:
    """One finished part of a study: its manifest, run files, times and command. A folder trained in
    several phases (a study resumed with more runs) names each phase: ``err`` and ``label`` are then
    ``+``-joined lists, one per phase; wall and CPU times are summed over the phases."""
    errs, labels = err.split("+"), (label.split("+") if label else [None])
    if len(errs) != len(labels):
        fail(f"part {folder}: {len(errs)} err files but {len(labels)} labels")
    if len(errs) > 1:
        phases = [read_part(runs_root, corpus, preset, folder, e, lab, accept_rc) for e, lab in zip(errs, labels)]
        first = phases[-1]
        cpu = [ph["cpu_s"] for ph in phases]
        return first | {"start_utc": min(ph["start_utc"] for ph in phases),
                        "end_utc": max(ph["end_utc"] for ph in phases), "rc": max(ph["rc"] for ph in phases),
                        "wall_s": sum(ph["wall_s"] for ph in phases),
                        "cpu_s": sum(cpu) if all(c is not None for c in cpu) else None,
                        "command": "; ".join(ph["command"] for ph in phases)}
    start, end, rc = parse_times_log(runs_root / "times.log", corpus, label, accept_rc)
    src = runs_root / folder
    manifest_path = src / results.MANIFEST
    if not manifest_path.is_file():
        fail(f"{manifest_path}: not found")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("preset") != preset or manifest.get("corpus") != corpus:
        fail(f"{manifest_path}: holds preset {manifest.get('preset')!r}, corpus {manifest.get('corpus')!r}")
    names = list(manifest["runs"])
    done = results.read_runs_dir(src, names)
    missing = sorted(set(names) - set(done))
    if missing:
        fail(f"{src}: {len(missing)} of {len(names)} runs missing (e.g. {missing[0]}); nothing imported")
    timing = parse_time_v(runs_root / f"{err}.err")
    t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
    t1 = datetime.fromisoformat(end.replace("Z", "+00:00"))
    cpu_s = timing.get("user_s", float("nan")) + timing.get("system_s", float("nan"))
    command = timing.pop("command", None) or f"smallest-loss study --preset {preset} --corpus {corpus} --out {src}"
    return {"manifest": manifest, "done": done, "folder": folder, "start_utc": start, "end_utc": end, "rc": rc,
            "wall_s": (t1 - t0).total_seconds(), "cpu_s": cpu_s if cpu_s == cpu_s else None,
            "command": command, "commit": manifest.get("commit", ""), "subset": manifest.get("subset", ""),
            "time_v": timing}


def import_study(corpus: str, runs_root: Path, dest_root: Path, peak: tuple[float, int] | None,
                 preset: str = "laptop", parts: list[tuple[str, str, str | None]] | None = None,
                 script: list[Path] | None = None, accept_rc: bool = False, note: str = "") -> Path:
    """Merge the finished ``parts`` (folder, err-file stem, times.log label) of a study of ``corpus``
    into ``dest_root/PRESET_CORPUS``; default one part, ``PRESET_CORPUS`` with ``CORPUS.err``."""
    parts = parts or [(f"{preset}_{corpus}", corpus, None)]
    segs = [read_part(runs_root, corpus, preset, f, e, lab, accept_rc) for f, e, lab in parts]
    done: dict = {}
    for seg in segs:
        # A part may be a study resumed in a folder seeded with the run files of earlier parts (the
        # engine skips finished runs): such a run must be the same run, row for row; the part is
        # then credited only with the runs it trained itself.
        carried = sorted(set(done) & set(seg["done"]))
        for name in carried:
            if done[name]["row"] != seg["done"][name]["row"]:
                fail(f"run {name} is in two parts with different results; nothing imported")
        seg["carried"] = len(carried)
        seg["trained"] = {n: r for n, r in seg["done"].items() if n not in done}
        done.update(seg["trained"])
    whole = [seg for seg in segs if not seg["subset"] and set(seg["manifest"]["runs"]) == set(done)]
    manifest = dict(whole[-1]["manifest"] if whole else segs[0]["manifest"])
    manifest["runs"] = list(dict.fromkeys(n for seg in segs for n in seg["manifest"]["runs"]))
    manifest["n_runs"] = len(manifest["runs"])
    if whole:
        manifest.pop("subset", None)  # every run of the design, the last part run by the CLI itself
    elif len(segs) > 1 or manifest.get("subset"):
        manifest["subset"] = " + ".join(seg["subset"] or "the whole design" for seg in segs)
    rows = [done[n]["row"] for n in sorted(done)]
    curve = [p for n in sorted(done) for p in done[n]["curve"]]
    runs = pd.DataFrame(rows, columns=results.RUN_COLUMNS)
    curves = pd.DataFrame(curve, columns=results.CURVE_COLUMNS)
    manifest["total_flops"] = float(runs.flops.sum())
    commit_file = runs_root / "commit.txt"
    segments = [{k: seg[k] for k in ("folder", "command", "commit", "subset", "start_utc", "end_utc", "rc",
                                     "wall_s", "cpu_s", "time_v")}
                | {"n_runs": len(seg["trained"]), "n_carried": seg["carried"]} for seg in segs]
    cpu = [seg["cpu_s"] for seg in segs]
    prov = {
        "segments": segments,
        "command": "; ".join(seg["command"] for seg in segs),
        "commit": ", ".join(dict.fromkeys(seg["commit"] for seg in segs)),
        "commit_txt": commit_file.read_text().strip() if commit_file.is_file() else "",
        "version": manifest.get("version", ""),
        "start_utc": min(seg["start_utc"] for seg in segs), "end_utc": max(seg["end_utc"] for seg in segs),
        "rc": max(seg["rc"] for seg in segs),
        "wall_s": float(sum(seg["wall_s"] for seg in segs)),
        "cpu_s": float(sum(cpu)) if all(c is not None for c in cpu) else None,
        "machine": machine(), "shared": True, "load_average_at_import": list(os.getloadavg()),
        "n_runs": len(runs), "total_flops": float(runs.flops.sum()), "preset": preset,
        "subset": manifest.get("subset", ""), "note": note,
        "script": "\n\n".join(p.read_text().rstrip() for p in script or []),
        "imported_utc": datetime.utcnow().replace(microsecond=0).isoformat() + "Z",
    }
    if peak is not None:
        prov["matmul_peak_flops_per_s"] = peak[0]
        prov["matmul_peak_n"] = peak[1]
        prov["matmul_peak_threads"] = 1
    out = dest_root / f"{preset}_{corpus}"
    out.mkdir(parents=True, exist_ok=True)
    results.write_atomic(out / "study.json", json.dumps(manifest, indent=1, allow_nan=False))
    results.write_atomic(out / "runs.csv", runs.to_csv(index=False, float_format="%.17g"))
    results.write_atomic(out / "curves.csv", curves.to_csv(index=False, float_format="%.17g"))
    results.write_atomic(out / "provenance.json", json.dumps(prov, indent=1))
    results.write_atomic(out / "PROVENANCE.md", provenance_md(corpus, prov, runs))
    return out


def provenance_md(corpus: str, p: dict, runs: pd.DataFrame) -> str:
    m = p["machine"]
    h = p["wall_s"] / 3600
    run_cpu_h = float((runs.wall_s * runs.threads).sum()) / 3600
    cpu = (f"{p['cpu_s'] / 3600:.2f} CPU-hours (user + system, `/usr/bin/time -v`)" if p["cpu_s"]
           else f"{run_cpu_h:.2f} CPU-hours (the runs' wall times times their threads)")
    peak = (f"{p['matmul_peak_flops_per_s'] / 1e9:.1f} GFLOP/s (float32, n = {p['matmul_peak_n']}, one thread; "
            "measured when the results were imported, with `benchmarks/bench_study.py`'s `matmul_peak`; "
            f"load average then {p['load_average_at_import'][0]:.1f} on {m.get('cpus', '?')} cores)"
            if "matmul_peak_flops_per_s" in p else "not measured")
    subset = f" ({p['subset']})" if p["subset"] else " (the whole design)"
    listing = (f"\nThe scripts the commands ran:\n\n```python\n{p['script']}\n```\n" if p["script"] else "")
    commands = "\n".join(f"    {s['command']}" for s in p["segments"])
    segs = "\n".join(
        f"| part `{s['folder']}` | {s['n_runs']} runs ({s['subset'] or 'the whole design'}"
        + (f"; resumed in a folder holding the {s['n_carried']} runs of the parts above, which it skipped"
           if s.get("n_carried") else "") + "), "
        f"{s['start_utc']} to {s['end_utc']}, {s['wall_s']:.0f} s, exit status {s['rc']}, commit `{s['commit'][:12]}` |"
        for s in p["segments"])
    note = f"| note | {p['note']} |\n" if p["note"] else ""
    return f"""# Provenance: {p['preset']} study on `{corpus}`

Produced by the project (library version {p['version']}, commit `{p['commit']}` as recorded by the
engine in `study.json`) with:

{commands}

(then merged and copied here by `data/study/import_laptop.py`).
{listing}
| what | value |
|---|---|
| runs | {p['n_runs']} of the `{p['preset']}` preset{subset}, {p['total_flops']:.4g} FLOP in all (C = 6ND) |
{segs}
| wall time | {p['wall_s']:.0f} s ({h:.2f} h), summed over the parts |
| CPU time | {cpu} |
| machine | {m.get('model_name', '?')}, {m.get('cpus', '?')} cores ({m.get('hypervisor_vendor', 'bare metal')} VM), {m.get('memory_gib', '?')} GiB, {m.get('platform', '')} |
| software | Python {m.get('python')}, torch {m.get('torch')} |
{note}| threads, device | {int(runs.threads.iloc[0])} thread per run, device {runs.device.iloc[0]} |
| matmul peak | {peak} |

The machine was **shared** with other work while the study ran (other engineers' builds and tests),
so the wall time, the tokens/s and FLOP/s columns of `runs.csv` and the peak are lower bounds on
what the same machine does alone. The losses do not depend on the load: a run's loss depends only
on its seed, device kind and thread count (`tests/test_study_laptop_rerun.py` re-trains one run and
compares).

Files: `study.json` (the design and, for the synthetic source, its exact entropy rate),
`runs.csv` (one row per run), `curves.csv` (held-out loss at log-spaced steps),
`provenance.json` (this table, machine-readable).
"""


def parse_part(text: str) -> tuple[str, str, str | None]:
    """``FOLDER:ERR[:LABEL]`` -> (folder, err-file stem, times.log label or None)."""
    bits = text.split(":", 2)
    if len(bits) < 2 or not all(bits[:2]):
        raise argparse.ArgumentTypeError(f"--part {text!r}: expected FOLDER:ERR[:LABEL]")
    return bits[0], bits[1], bits[2] if len(bits) > 2 else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="+", choices=["synthetic", "shakespeare"])
    ap.add_argument("--runs-root", type=Path, default=Path("/work/runs"))
    ap.add_argument("--dest", type=Path, default=DEST)
    ap.add_argument("--preset", default="laptop", help="the study's preset (folders PRESET_CORPUS)")
    ap.add_argument("--part", type=parse_part, action="append", default=None,
                    help="FOLDER:ERR[:LABEL]: a part of the study (its folder under --runs-root, its ERR.err "
                         "file, its label in times.log); repeat to merge parts (one corpus only). Default: "
                         "PRESET_CORPUS:CORPUS")
    ap.add_argument("--script", type=Path, action="append", default=None,
                    help="a script the commands ran, listed in PROVENANCE.md (repeatable)")
    ap.add_argument("--accept-rc", action="store_true",
                    help="import a study whose command exited non-zero when every run of its design finished")
    ap.add_argument("--note", default="", help="a line for PROVENANCE.md (for example why the exit status was not 0)")
    ap.add_argument("--no-peak", action="store_true", help="do not measure the matmul peak")
    args = ap.parse_args(argv)
    peak = None
    if not args.no_peak:
        from bench_study import matmul_peak

        peak = matmul_peak(1, "cpu", seconds=2.0)
    if args.part and len(args.corpora) > 1:
        ap.error("--part: name one corpus")
    for corpus in args.corpora:
        out = import_study(corpus, args.runs_root, args.dest, peak, args.preset, args.part, args.script,
                           args.accept_rc, args.note)
        print(f"{corpus}: imported into {os.path.relpath(out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
