"""Input checks shared by the public functions of the library.

Every public function validates its inputs here, at the boundary, and raises ``ValueError`` with a
one-line message that names the argument, and where it helps the position and the offending value.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike, NDArray


def as_float_array(name: str, values: ArrayLike) -> NDArray[np.float64]:
    """Return ``values`` as a float array, or raise ``ValueError`` naming ``name``."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not numeric ({exc})") from None
    return arr


def _first_bad(mask: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(np.ravel(mask))[0])


def positive_array(name: str, values: ArrayLike) -> NDArray[np.float64]:
    """``values`` as a float array whose every entry is finite and > 0.

    Raises ``ValueError`` naming the argument, the index of the first bad entry and its value.
    """
    arr = as_float_array(name, values)
    flat = np.ravel(arr)
    bad = ~np.isfinite(flat) | (flat <= 0)
    if bad.any():
        i = _first_bad(bad)
        what = "NaN" if np.isnan(flat[i]) else ("not finite" if not np.isfinite(flat[i]) else "not positive")
        where = f"[{i}]" if arr.ndim else ""
        raise ValueError(f"{name}{where} = {float(flat[i])!r} is {what}; expected a finite positive number")
    return arr


def finite_array(name: str, values: ArrayLike) -> NDArray[np.float64]:
    """``values`` as a float array whose every entry is finite."""
    arr = as_float_array(name, values)
    flat = np.ravel(arr)
    bad = ~np.isfinite(flat)
    if bad.any():
        i = _first_bad(bad)
        where = f"[{i}]" if arr.ndim else ""
        raise ValueError(f"{name}{where} = {float(flat[i])!r} is not finite")
    return arr


def positive_scalar(name: str, value: float) -> float:
    """``value`` as a float that is finite and > 0."""
    arr = positive_array(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name}: expected a single number, got an array of shape {arr.shape}")
    return float(arr)


def positive_int(name: str, value: int) -> int:
    """``value`` as an ``int`` that is >= 1 (bools and fractional values are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} = {value!r} is not an integer")
    if value < 1:
        raise ValueError(f"{name} = {value!r} must be at least 1")
    return int(value)


def same_length(**arrays: NDArray[np.float64]) -> int:
    """Check that the 1-D arrays have one length; return it. Names the mismatched arguments."""
    lengths = {name: np.size(a) for name, a in arrays.items()}
    first_name, first_len = next(iter(lengths.items()))
    for name, n in lengths.items():
        if n != first_len:
            raise ValueError(
                f"length mismatch: {first_name} has {first_len} values but {name} has {n}"
            )
    return first_len


def broadcast(**arrays: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """Broadcast arrays together or raise ``ValueError`` naming the shapes."""
    try:
        return tuple(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"shape mismatch: cannot broadcast {shapes}") from None


def one_dimensional(name: str, arr: NDArray[np.float64]) -> NDArray[np.float64]:
    """``arr`` if it is a non-empty 1-D array, else ``ValueError`` naming ``name`` and the shape."""
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: is empty")
    return arr


def runs_arrays(
    params: ArrayLike, tokens: ArrayLike, loss: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Training runs as three positive 1-D arrays of one length: parameters, tokens, loss."""
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    lo = positive_array("loss", loss)
    for name, arr in (("params", n), ("tokens", d), ("loss", lo)):
        if arr.ndim != 1:
            raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    same_length(params=n, tokens=d, loss=lo)
    return n, d, lo


class PositiveFloatFields:
    """Mixin for a frozen dataclass of published constants: every ``float`` field must be a finite
    positive number (checked when the object is made, one-line ``ValueError`` naming the field)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.type in ("float", float):
                positive_scalar(f.name, getattr(self, f.name))
