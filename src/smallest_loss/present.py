"""Numbers and tables for people: the book's one formatter for prose numbers and tables.

Prose numbers are typeset, never printed in Python e-notation: ``number(2.2188e10)`` gives
``"2.22 × 10¹⁰"``, ``number(12345.6)`` gives ``"12,346"``, ``percent(0.0761)`` gives ``"7.6%"``, and a
negative number carries a real minus sign (U+2212). A value that rounds to zero never reads "−0".

In a chapter, :func:`glue` stores the raw value under its name (the tests read it) and the typeset
text under ``name + "_text"`` for the prose::

    present.glue("params_opt", allocation.params, sig=3)
    # prose: ... about {glue:text}`params_opt_text` parameters

Tables go through :func:`table`, which returns a pandas ``Styler`` with a format per column, cell
padding, no truncation, the index hidden when it carries no information, and no float index noise.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MINUS",
    "TEXT_SUFFIX",
    "TABLE_CLASS",
    "number",
    "percent",
    "value_range",
    "superscript",
    "glue",
    "table",
]

MINUS = "\u2212"  # the typographic minus sign
TIMES = "\u00d7"
TEXT_SUFFIX = "_text"  # glue(name, ...) stores the typeset text under name + TEXT_SUFFIX
TABLE_CLASS = "sl-table"  # the CSS class the book's stylesheet pads and lets scroll

_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")


def superscript(exponent: int) -> str:
    """``exponent`` in Unicode superscript digits (``-3`` gives ``"⁻³"``)."""
    if isinstance(exponent, bool) or not isinstance(exponent, numbers.Integral):
        raise ValueError(f"superscript: exponent must be an integer, got {exponent!r}")
    return str(int(exponent)).translate(_SUPERSCRIPT)


def _check_real(value: Any, name: str = "value") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _check_sig(sig: int) -> int:
    if isinstance(sig, bool) or not isinstance(sig, numbers.Integral) or not 1 <= sig <= 17:
        raise ValueError(f"sig must be an integer from 1 to 17, got {sig!r}")
    return int(sig)


def _strip_negative_zero(text: str) -> str:
    """Drop the sign of a number that rounded to zero ("-0.00" -> "0.00", "-0%" -> "0%")."""
    body = text.lstrip("-" + MINUS)
    mantissa = body.lower().split("e")[0]
    if body != text and not any(c in "123456789" for c in mantissa):
        return body
    return text


def number(
    value: float,
    sig: int = 3,
    *,
    decimals: int | None = None,
    sci_above: float = 1e6,
    sci_below: float = 1e-3,
    thousands: bool = True,
    trailing_zeros: bool = True,
) -> str:
    """Typeset ``value`` for prose: ``sig`` significant figures, thousands separators, and
    ``a × 10ⁿ`` (Unicode superscript) outside ``[sci_below, sci_above)``.

    ``decimals`` fixes the number of decimals instead of significant figures (plain notation only).
    Negative numbers use the minus sign U+2212; a value that rounds to zero is printed without
    a sign; ``nan`` and infinities are printed as "nan", "∞" and "−∞".

    >>> number(2.2188e10)
    '2.22 × 10¹⁰'
    >>> number(-0.00004)
    '−4.00 × 10⁻⁵'
    >>> number(123456.7, sig=6)
    '123,457'
    """
    x = _check_real(value)
    sig = _check_sig(sig)
    if decimals is not None and (
        isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral) or decimals < 0
    ):
        raise ValueError(f"decimals must be a non-negative integer, got {decimals!r}")
    if not sci_below < sci_above:
        raise ValueError(f"sci_below ({sci_below!r}) must be smaller than sci_above ({sci_above!r})")
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞" if x > 0 else MINUS + "∞"
    if x == 0:
        return f"{0:.{decimals}f}" if decimals is not None else "0"
    mag = abs(x)
    # the magnitude after rounding decides the notation (9.9996e5 rounds to 1.00e6)
    rounded = float(f"{mag:.{sig - 1}e}")
    if decimals is None and (rounded >= sci_above or rounded < sci_below):
        mantissa, exp = f"{mag:.{sig - 1}e}".split("e")
        if not trailing_zeros and "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa} {TIMES} 10{superscript(int(exp))}"
    else:
        if decimals is None:
            exp = int(math.floor(math.log10(rounded)))
            decimals = max(sig - 1 - exp, 0)
            mag = float(f"{mag:.{sig - 1}e}")  # round to sig figures before fixing decimals
        text = f"{mag:{',' if thousands else ''}.{decimals}f}"
        if not trailing_zeros and "." in text:
            text = text.rstrip("0").rstrip(".")
        if float(text.replace(",", "")) == 0:
            return text  # rounded to zero: no sign
    return (MINUS + text) if x < 0 else text


def percent(fraction: float, decimals: int = 1) -> str:
    """A fraction as a percentage for prose: ``percent(0.0761)`` gives ``"7.6%"``."""
    x = _check_real(fraction, "fraction")
    if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral) or decimals < 0:
        raise ValueError(f"decimals must be a non-negative integer, got {decimals!r}")
    if math.isnan(x):
        return "nan"
    text = f"{abs(x) * 100:.{decimals}f}"
    if x < 0 and float(text) != 0:
        text = MINUS + text
    return text + "%"


def value_range(low: float, high: float, sig: int = 3, **kwargs: Any) -> str:
    """An interval for prose, ``"0.452–0.517"`` (en dash); both ends typeset by :func:`number`.

    When both ends are in ×10ⁿ notation with the same exponent, it is written once:
    ``"(1.20–3.40) × 10²¹"``.
    """
    lo, hi = _check_real(low, "low"), _check_real(high, "high")
    if lo > hi:
        raise ValueError(f"value_range: low ({lo!r}) is larger than high ({hi!r})")
    a, b = number(lo, sig, **kwargs), number(hi, sig, **kwargs)
    sep = f" {TIMES} 10"
    if sep in a and sep in b and a.split(sep)[1] == b.split(sep)[1]:
        return f"({a.split(sep)[0]}–{b.split(sep)[0]}){sep}{a.split(sep)[1]}"
    return f"{a}–{b}"


def glue(name: str, value: Any, sig: int = 3, *, as_percent: bool = False, **kwargs: Any) -> str:
    """Glue ``value`` under ``name`` (raw, for tests and format specs) and its typeset text under
    ``name + "_text"`` (for ``{glue:text}`name_text```); return the text.

    ``as_percent`` typesets a fraction with :func:`percent` (``kwargs`` then go to it); otherwise
    :func:`number` typesets it with ``sig`` significant figures and ``kwargs``.
    Needs myst-nb (installed with the book).
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue: name must be an identifier-like string, got {name!r}")
    from myst_nb import glue as _glue  # the book's dependency, not the library's

    raw = value.item() if isinstance(value, np.generic) else value
    text = percent(raw, **kwargs) if as_percent else number(raw, sig, **kwargs)
    _glue(name, raw, display=False)
    _glue(name + TEXT_SUFFIX, text, display=False)
    return text


Formatter = str | Callable[[Any], str]


def _cell_formatter(fmt: Formatter | None, sig: int, na_rep: str) -> Callable[[Any], str]:
    def apply(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
            return na_rep
        if isinstance(v, np.generic):
            v = v.item()
        if fmt is None:
            if isinstance(v, bool):
                return "yes" if v else "no"
            if isinstance(v, numbers.Integral):
                if abs(v) >= 10**15:
                    return number(v, sig)
                return f"{v:,}".replace("-", MINUS)
            if isinstance(v, numbers.Real):
                return number(v, sig)
            return str(v)
        if callable(fmt):
            return fmt(v)
        if fmt == "%":
            return percent(v)
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            text = _strip_negative_zero(fmt.format(v))
            return MINUS + text.lstrip()[1:] if text.lstrip().startswith("-") else text
        return fmt.format(v)

    return apply


def table(
    df: pd.DataFrame,
    formats: Mapping[Any, Formatter] | None = None,
    *,
    sig: int = 3,
    index: bool | None = None,
    na_rep: str = "",
    caption: str | None = None,
) -> "pd.io.formats.style.Styler":
    """A table for people: ``df`` as a pandas ``Styler``.

    formats: per column, a ``str.format`` pattern (``"{:.3f}"``), ``"%"`` (a fraction shown as a
    percentage), or a function of the cell value; columns not named get :func:`number` with
    ``sig`` significant figures (integers in full with thousands separators, booleans as yes/no,
    text as is). index: show the index (default: only when it is not a plain 0..n-1 range);
    a numeric index is typeset like the values, so no float noise reaches the reader.
    Cells are never truncated; padding and scrolling come from the CSS class ``sl-table``
    (the book's stylesheet) and from inline styles (for Jupyter).
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"table: df must be a pandas DataFrame, got {type(df).__name__}")
    formats = dict(formats or {})
    unknown = [c for c in formats if c not in df.columns]
    if unknown:
        raise ValueError(f"table: formats name columns not in the table: {unknown!r}")
    _check_sig(sig)
    styler = df.style
    for col in df.columns:
        styler = styler.format(_cell_formatter(formats.get(col), sig, na_rep), subset=[col])
    if index is None:
        index = not (isinstance(df.index, pd.RangeIndex) and df.index.start == 0
                     and df.index.step == 1 and df.index.name is None)
    if index:
        styler = styler.format_index(_cell_formatter(None, sig, na_rep), axis="index")
    else:
        styler = styler.hide(axis="index")
    if caption is not None:
        styler = styler.set_caption(caption)
    styler = styler.set_table_attributes(f'class="{TABLE_CLASS}"')
    styler = styler.set_table_styles(
        [
            {"selector": "th, td", "props": "padding: 0.25em 0.8em; vertical-align: top;"},
            {"selector": "th", "props": "text-align: left;"},
        ],
        overwrite=False,
    )
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])
               and not pd.api.types.is_bool_dtype(df[c])]
    if numeric:
        styler = styler.set_properties(
            subset=numeric,
            **{"text-align": "right", "white-space": "nowrap", "font-variant-numeric": "tabular-nums"},
        )
    return styler
