"""Epoch AI's hardware tables (epoch-research/training-cost-trends): peak throughput by data type,
memory, bandwidth and release price of ML accelerators, and cloud prices per chip-hour.

``epoch_costs/Chip dataset-Grid view.csv`` has one row per chip (a few names repeat) with peak
throughputs in FLOP/s per data type, memory per board in bytes and bandwidths. ``epoch_costs/Hardware
prices.csv`` has one row per observed price (purchase or cloud, with its date, vendor and source).
The repository has no licence file: the files are downloaded at run time and never redistributed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .registry import REGISTRY, ExternalFile, fetch

__all__ = ["EPOCH_CHIPS_KEY", "EPOCH_PRICES_KEY", "EPOCH_MODELS_KEY", "CHIP_COLUMNS", "MODEL_COLUMNS",
           "load_chip_table", "load_hardware_prices", "cloud_price_per_hour", "load_notable_models",
           "cloud_price_summary"]

_BASE = ("https://raw.githubusercontent.com/epoch-research/training-cost-trends/"
         "263c40a159307e917213d1dc433c617e47d55bfe/data/")
_LICENCE = "no licence upstream: downloaded at run time, never redistributed"
_CITE = ("Epoch AI, training-cost-trends repository (Cottier et al. 2024, 'The rising costs of "
         "training frontier AI models', arXiv:2405.21015): {what}")

EPOCH_CHIPS_KEY = "epoch_costs/Chip dataset-Grid view.csv"
EPOCH_PRICES_KEY = "epoch_costs/Hardware prices.csv"
EPOCH_MODELS_KEY = "epoch_costs/All ML Systems - full view.csv"

REGISTRY.update({
    EPOCH_CHIPS_KEY: ExternalFile(
        EPOCH_CHIPS_KEY, _BASE + "Chip%20dataset-Grid%20view.csv",
        "4a5e453104abfc894c47af64957c8a8e8cb0281c9af44975772318a5eacab5cc", _LICENCE,
        _CITE.format(what="ML hardware table (peak throughput by data type, memory, bandwidth)")),
    EPOCH_PRICES_KEY: ExternalFile(
        EPOCH_PRICES_KEY, _BASE + "Hardware%20prices.csv",
        "e397345924db0a6bf83bd39d27c1fc7e9ec298339261c6e5d35f535abc898d2f", _LICENCE,
        _CITE.format(what="hardware purchase and cloud prices")),
    EPOCH_MODELS_KEY: ExternalFile(
        EPOCH_MODELS_KEY, _BASE + "All%20ML%20Systems%20-%20full%20view.csv",
        "74509130a942f476053447d26cd9a3805a03d48b8feffef714826c5e340c9ec2", _LICENCE,
        _CITE.format(what="notable ML models (training compute, hardware, time, MFU, power draw)")),
})

CHIP_COLUMNS = {
    "Hardware name": "chip",
    "Manufacturer": "manufacturer",
    "Type": "type",
    "Release date": "release_date",
    "Release price (USD)": "release_price_usd",
    "FP64 (double precision) performance (FLOP/s)": "fp64_flops",
    "FP32 (single precision) performance (FLOP/s)": "fp32_flops",
    "TF32 (TensorFloat-32) performance (FLOP/s)": "tf32_flops",
    "Tensor-FP16/BF16 performance (FLOP/s)": "bf16_flops",
    "FP8 performance (FLOP/s)": "fp8_flops",
    "INT8 performance (OP/s)": "int8_ops",
    "Memory size per board (Byte)": "memory_bytes",
    "Memory bandwidth (byte/s)": "memory_bandwidth",
    "Intranode bandwidth (byte/s)": "intranode_bandwidth",
}
"""Upstream column -> tidy column. Units: FLOP/s (OP/s for int8) dense peak per chip as listed;
bytes; bytes/s; USD; release date as a timestamp."""


def _money(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.replace(r"[$,\s]", "", regex=True)
    return pd.to_numeric(text, errors="coerce")


def load_chip_table() -> pd.DataFrame:
    """Epoch AI's chip table, one row per chip (the first row kept where a name repeats).

    Columns: ``chip``, ``manufacturer``, ``type`` (GPU, TPU, ...), ``release_date``
    (timestamp), ``release_price_usd`` [USD], peak throughputs ``fp64_flops``, ``fp32_flops``,
    ``tf32_flops``, ``bf16_flops`` (tensor FP16/BF16), ``fp8_flops`` [FLOP/s] and ``int8_ops``
    [OP/s], ``memory_bytes`` [bytes per board], ``memory_bandwidth`` and ``intranode_bandwidth``
    [bytes/s]. A missing entry is NaN (the table does not list it). Negative or infinite values
    raise ``ValueError`` naming the chip and column.
    """
    raw = pd.read_csv(Path(fetch(EPOCH_CHIPS_KEY)), usecols=list(CHIP_COLUMNS))
    df = raw.rename(columns=CHIP_COLUMNS)
    df = df[df["chip"].notna()].drop_duplicates("chip", keep="first")
    df["chip"] = df["chip"].astype(str).str.strip()
    df["release_date"] = pd.to_datetime(df["release_date"], errors="coerce")
    df["release_price_usd"] = _money(df["release_price_usd"])
    numeric = [c for c in CHIP_COLUMNS.values() if c.endswith(("_flops", "_ops", "_bytes", "_bandwidth"))]
    for col in numeric:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
        bad = df[col].notna() & (~np.isfinite(df[col]) | (df[col] < 0))
        if bad.any():
            row = df[bad].iloc[0]
            raise ValueError(f"chip table: {row['chip']!r} has {col} = {row[col]!r}")
    return df[list(CHIP_COLUMNS.values())].reset_index(drop=True)


def load_hardware_prices() -> pd.DataFrame:
    """Epoch AI's hardware prices, one row per observation.

    Columns: ``chip`` (hardware model), ``date`` (timestamp), ``vendor``, ``on_demand``,
    ``one_year``, ``three_year`` [USD per chip-hour: on-demand, 1-year and 3-year commitment],
    ``purchase`` [USD], ``source`` (URL).
    """
    raw = pd.read_csv(Path(fetch(EPOCH_PRICES_KEY)))
    cols = {"Hardware model": "chip", "Price date": "date", "Vendor": "vendor",
            "Price per chip-hour (on-demand)": "on_demand", "Price per chip-hour (1-year CUD)": "one_year",
            "Price per chip-hour (3-year CUD)": "three_year", "Price (hardware purchase)": "purchase",
            "Price source": "source"}
    df = raw[list(cols)].rename(columns=cols)
    df["date"] = pd.to_datetime(df["date"], errors="coerce")
    for col in ("on_demand", "one_year", "three_year", "purchase"):
        df[col] = _money(df[col]).astype(float)
    return df.reset_index(drop=True)


def cloud_price_per_hour(prices: pd.DataFrame, chip: str) -> float:
    """Median on-demand cloud price [USD per chip-hour] of ``chip`` over its observations in
    ``prices`` (from :func:`load_hardware_prices`); ``ValueError`` if there is none."""
    sel = prices.loc[prices["chip"] == chip, "on_demand"].dropna()
    if sel.empty:
        raise ValueError(f"no on-demand price for chip {chip!r}")
    return float(sel.median())


MODEL_COLUMNS = {
    "Model": "model",
    "Organization": "organization",
    "Publication date": "date",
    "Parameters": "params",
    "Training compute (FLOP)": "flops",
    "Training hardware": "hardware",
    "Hardware quantity": "hardware_quantity",
    "Training time (hours)": "training_hours",
    "Training chip-hours": "chip_hours",
    "Hardware utilization (MFU)": "mfu",
    "Training power draw (W)": "power_w",
    "Training compute cost (2023 USD)": "cost_usd_2023",
    "Numerical format": "numerical_format",
}
"""Upstream column -> tidy column of :func:`load_notable_models`."""


def load_notable_models() -> pd.DataFrame:
    """Epoch AI's notable ML models (``All ML Systems - full view.csv``), one row per model.

    Columns: ``model``, ``organization``, ``date`` (publication, timestamp), ``params``
    [parameters], ``flops`` [training FLOP], ``hardware`` (accelerator name as in the chip table;
    several names are comma-separated), ``hardware_quantity`` [chips], ``training_hours`` [wall
    hours], ``chip_hours`` [chip-hours], ``mfu`` (model FLOPs utilization, a fraction),
    ``power_w`` [W: Epoch's estimate of the cluster's power draw], ``cost_usd_2023`` [2023 USD],
    ``numerical_format`` (e.g. ``BF16``). Missing entries are NaN.

    One upstream MFU is written as a percentage (72 for the FlashAttention-2 GPT-3 2.7B row, whose
    note quotes 72%): values in (1, 100] are divided by 100. Any other value outside (0, 1], and any
    negative or infinite number, raises ``ValueError`` naming the model and column.
    """
    raw = pd.read_csv(Path(fetch(EPOCH_MODELS_KEY)), usecols=list(MODEL_COLUMNS))
    df = raw.rename(columns=MODEL_COLUMNS)
    df = df[df["model"].notna()].copy()
    df["model"] = df["model"].astype(str).str.strip()
    df["date"] = pd.to_datetime(df["date"], errors="coerce")
    df["cost_usd_2023"] = _money(df["cost_usd_2023"]).astype(float)
    for col in ("params", "flops", "hardware_quantity", "training_hours", "chip_hours", "mfu", "power_w"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
        bad = df[col].notna() & (~np.isfinite(df[col]) | (df[col] < 0))
        if bad.any():
            row = df[bad].iloc[0]
            raise ValueError(f"notable models: {row['model']!r} has {col} = {row[col]!r}")
    percent = (df["mfu"] > 1) & (df["mfu"] <= 100)
    df.loc[percent, "mfu"] = df.loc[percent, "mfu"] / 100.0
    bad = df["mfu"].notna() & ((df["mfu"] <= 0) | (df["mfu"] > 1))
    if bad.any():
        row = df[bad].iloc[0]
        raise ValueError(f"notable models: {row['model']!r} has mfu = {row['mfu']!r}")
    return df[list(MODEL_COLUMNS.values())].reset_index(drop=True)


def cloud_price_summary(prices: pd.DataFrame, chips: list[str] | None = None) -> pd.DataFrame:
    """Median cloud price [USD per chip-hour] per chip and vendor: on-demand, 1- and 3-year
    committed, with the number of observations (``n``). ``prices`` from
    :func:`load_hardware_prices`; ``chips`` restricts the rows (``ValueError`` naming a chip
    without any cloud price)."""
    df = prices[prices[["on_demand", "one_year", "three_year"]].notna().any(axis=1)]
    if chips is not None:
        missing = [c for c in chips if c not in set(df["chip"])]
        if missing:
            raise ValueError(f"no cloud price for chip {missing[0]!r}")
        df = df[df["chip"].isin(chips)]
    out = (df.groupby(["chip", "vendor"])[["on_demand", "one_year", "three_year"]]
           .median().join(df.groupby(["chip", "vendor"]).size().rename("n")))
    return out.reset_index()
