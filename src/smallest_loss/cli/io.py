"""Reading the user's files for ``smallest-loss``: every problem becomes one :class:`InputError` line.

A runs file is read as bytes first (a directory, an unreadable, empty, binary or non-UTF-8 file
is refused with its name), then parsed with the :mod:`csv` module so that a repeated column name
(which pandas would silently rename to ``loss.1``) and a row with too many or too few fields are
caught with their line number, before any value is converted.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["InputError", "read_runs", "read_text", "ALIASES", "MAX_FILE_BYTES"]

ALIASES = {"N": "params", "D": "tokens", "C": "flops", "L": "loss"}
MAX_FILE_BYTES = 256 * 1024 * 1024
"""Largest runs or law file read (256 MiB): a larger one is refused rather than exhausting memory."""


class InputError(ValueError):
    """A problem with the user's input, reported in one line (exit status 2)."""


def read_text(path: str | Path) -> str:
    """The text of ``path`` (UTF-8, an optional byte-order mark removed), or :class:`InputError`
    saying why it cannot be read: missing, a directory, not readable, too large, empty, binary
    (a NUL byte) or not UTF-8."""
    source = str(path)
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError(f"{source}: is a directory, not a file")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"{source}: {size} bytes is larger than the {MAX_FILE_BYTES} bytes read")
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except PermissionError:
        raise InputError(f"{source}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not data.strip():
        raise InputError(f"{source}: the file is empty")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(f"{source}: binary file (a NUL byte at offset {nul}), expected CSV text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    return text


def _parse_csv(text: str, source: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows and the file line of each row; blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for fields in reader:
            if not fields or all(f.strip() == "" for f in fields):
                continue
            if header is None:
                header = [f.strip() for f in fields]
                header_line = reader.line_num
                continue
            if len(fields) != len(header):
                raise InputError(
                    f"{source}: line {reader.line_num} has {len(fields)} field(s) but the header "
                    f"(line {header_line}) has {len(header)}")
            rows.append(fields)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise InputError(f"{source}: not a readable CSV file (line {reader.line_num}: {exc})") from None
    if header is None:
        raise InputError(f"{source}: the file is empty")
    for i, name in enumerate(header):
        if name == "":
            raise InputError(f"{source}: column {i + 1} of the header has no name")
    seen: dict[str, str] = {}
    for name in header:
        canonical = ALIASES.get(name, name)
        if canonical in seen:
            first = seen[canonical]
            if first == name:
                raise InputError(f"{source}: column '{name}' appears more than once in the header")
            raise InputError(f"{source}: columns '{first}' and '{name}' both given; keep one")
        seen[canonical] = name
    return header, rows, lines


def _value(text: str, name: str, row: int, line: int, source: str) -> float:
    where = f"{source}: column '{name}', row {row} (line {line})"
    t = text.strip()
    if t == "":
        raise InputError(f"{where}: value is missing")
    try:
        value = float(t)
    except ValueError:
        raise InputError(f"{where}: {t[:40]!r} is not numeric") from None
    if math.isnan(value):
        raise InputError(f"{where}: value is NaN")
    if math.isinf(value):
        what = "overflows a float" if t.lower().lstrip("+-") not in {"inf", "infinity"} else "is infinite"
        raise InputError(f"{where}: {t[:40]!r} {what}; expected a finite positive number")
    if value <= 0:
        raise InputError(f"{where}: {t[:40]!r} is not a finite positive number")
    return value


def read_runs(path: str | Path, *, need_run: bool = False) -> pd.DataFrame:
    """Read a runs CSV into a DataFrame with ``params, tokens, flops, loss`` (+ ``budget``, ``run``).

    Columns ``params``, ``tokens``, ``flops`` (aliases ``N``, ``D``, ``C``) -- any two of the three,
    the third from ``C = 6 N D`` -- and ``loss`` (alias ``L``) [nats/token]. Optional ``budget``
    (groups runs into isoFLOP budgets) and ``run`` (names each training curve; required when
    ``need_run``). Other columns are ignored. Raises :class:`InputError` with a one-line message for
    every problem (file, header, a row's field count, a value, with its row and file line).
    """
    source = str(path)
    header, rows, lines = _parse_csv(read_text(path), source)
    names = [ALIASES.get(c, c) for c in header]
    if "loss" not in names:
        raise InputError(f"{source}: missing column 'loss' (columns found: {', '.join(header)})")
    present = [c for c in ("params", "tokens", "flops") if c in names]
    if len(present) < 2:
        missing = [c for c in ("params", "tokens", "flops") if c not in names]
        raise InputError(
            f"{source}: need two of the columns params, tokens, flops (or N, D, C); missing {', '.join(missing)}")
    if need_run and "run" not in names:
        raise InputError(f"{source}: missing column 'run' (approach 1 needs one id per training curve)")
    if not rows:
        raise InputError(f"{source}: no data rows")
    col = {c: names.index(c) for c in names}
    out: dict[str, np.ndarray] = {}
    for c in present + ["loss"]:
        j = col[c]
        out[c] = np.array([_value(r[j], header[j], i + 1, ln, source)
                           for i, (r, ln) in enumerate(zip(rows, lines))])
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        if "params" not in out:
            out["params"] = out["flops"] / (6.0 * out["tokens"])
            derived = "params = flops / (6 tokens)"
        elif "tokens" not in out:
            out["tokens"] = out["flops"] / (6.0 * out["params"])
            derived = "tokens = flops / (6 params)"
        elif "flops" not in out:
            out["flops"] = 6.0 * out["params"] * out["tokens"]
            derived = "flops = 6 params tokens"
        else:
            derived = ""
    for c in ("params", "tokens", "flops"):
        bad = ~np.isfinite(out[c]) | (out[c] <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{source}: row {i + 1} (line {lines[i]}): {derived} = {float(out[c][i])!r} "
                             "is out of the floating-point range")
    frame = pd.DataFrame({c: out[c] for c in ("params", "tokens", "flops", "loss")})
    for extra in ("budget", "run"):
        if extra in col:
            j = col[extra]
            values = [r[j].strip() for r in rows]
            for i, v in enumerate(values):
                if v == "":
                    raise InputError(f"{source}: column '{extra}', row {i + 1} (line {lines[i]}): value is missing")
            frame[extra] = values
    frame.attrs["lines"] = lines
    frame.attrs["source"] = source
    return frame
