"""Argument types shared by the subcommands: each parses one command-line value or raises
``argparse.ArgumentTypeError`` with one line naming the value (argparse then exits with status 2)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["bounded_int", "bootstrap_count", "seed", "real", "positive_real", "nonnegative_real"]


def bounded_int(low: int, high: int | None = None, *, too_low: str, too_high: str = "") -> Callable[[str], int]:
    """A parser of integers ``low <= value <= high`` (no upper bound when ``high`` is None).

    ``too_low`` and ``too_high`` complete the error line after the quoted value, e.g.
    ``"must be a non-negative integer"``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} {too_low}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} {too_high}")
        return value

    return parse


def bootstrap_count(maximum: int) -> Callable[[str], int]:
    """``--bootstrap B``: at least 2 resamples (a standard error needs two), at most ``maximum``."""
    return bounded_int(2, maximum, too_low="must be at least 2 (a standard error needs 2 resamples)",
                       too_high=f"is more than the {maximum} resamples allowed")


seed = bounded_int(0, 2 ** 63 - 1, too_low="must be a non-negative integer",
                   too_high="must be a non-negative integer below 2^63")
"""``--seed S``: a non-negative integer that numpy's and PyTorch's generators accept."""


def real(text: str) -> float:
    """Any floating-point number (``inf`` and ``nan`` included; the callers below exclude them)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None


def positive_real(text: str) -> float:
    """A finite number above zero, e.g. ``--flops 1e21``."""
    value = real(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a finite positive number")
    return value


def nonnegative_real(text: str) -> float:
    """A finite number at or above zero, e.g. ``--inference-tokens 0``."""
    value = real(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a finite number >= 0")
    return value
