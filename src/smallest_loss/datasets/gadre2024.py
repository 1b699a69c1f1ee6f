"""Gadre et al. 2024's width x depth x heads x warmup grid: 435 runs near 20 tokens per parameter.

``gadre2024/grid.json`` (mlfoundations/scaling, MIT) maps one key per run,
``d=<d_model>_l=<n_layer>_h=<n_heads>-<batch>-<lr>-<wd>-<batch>-<tokens>-<warmup>-<final lr>``, to its
final loss on their OpenLM validation set. The paper (Sec. 3.2, App. B-C) trains every grid model on
20 tokens per parameter with a fixed peak learning rate of 3e-3, global batches in sequences of
2,048 tokens, OpenLM's pre-norm architecture with SwiGLU, rotary positions, no biases, untied
output layer and the GPT-NeoX tokenizer (50,432 embedding rows in the configs).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..counting import TransformerShape, count_params
from .registry import REGISTRY, ExternalFile, fetch

__all__ = ["GADRE_GRID_KEY", "GADRE_VOCAB", "GADRE_SEQ_LEN", "openlm_shape", "parse_grid_key",
           "load_gadre_grid"]

GADRE_GRID_KEY = "gadre2024/grid.json"
GADRE_VOCAB = 50432
"""Embedding rows of the OpenLM configs (GPT-NeoX-20B tokenizer, padded)."""
GADRE_SEQ_LEN = 2048
"""Sequence length of every run [tokens]."""

REGISTRY.update({GADRE_GRID_KEY: ExternalFile(
    GADRE_GRID_KEY,
    "https://raw.githubusercontent.com/mlfoundations/scaling/"
    "a003c4913793ac2ae7ef87b28ecb562955d026d5/exp_data/grid.json",
    "ca332946e0f359950c47a115662e8fdea40e33807fc6bb8ebb0adc4a17521050",
    "MIT",
    "Gadre et al. 2024, 'Language models scale reliably with over-training and on downstream "
    "tasks', arXiv:2403.08540 (grid search of Sec. 3.2 and Fig. 4)",
)})

_KEY = re.compile(
    r"^d=(?P<d_model>\d+)_l=(?P<n_layer>\d+)_h=(?P<n_heads>\d+)-(?P<batch>\d+)-(?P<lr>[0-9.e+-]+?)"
    r"-(?P<wd>[0-9.]+)-(?P<batch2>\d+)-(?P<tokens>\d+)-(?P<warmup>\d+)-(?P<final_lr>[0-9.e+-]+)$"
)


def parse_grid_key(key: str) -> dict[str, float]:
    """The run key's fields as numbers: d_model, n_layer, n_heads, batch_seqs, lr, weight_decay,
    tokens, warmup (steps), final_lr. ValueError naming the key if it does not parse or if its
    two batch fields disagree."""
    m = _KEY.match(str(key))
    if not m:
        raise ValueError(f"grid key {key!r} does not match d=<w>_l=<n>_h=<h>-<batch>-<lr>-<wd>-"
                         "<batch>-<tokens>-<warmup>-<final lr>")
    g = m.groupdict()
    if g["batch"] != g["batch2"]:
        raise ValueError(f"grid key {key!r}: its two batch fields differ ({g['batch']}, {g['batch2']})")
    return {"d_model": int(g["d_model"]), "n_layer": int(g["n_layer"]), "n_heads": int(g["n_heads"]),
            "batch_seqs": int(g["batch"]), "lr": float(g["lr"]), "weight_decay": float(g["wd"]),
            "tokens": float(g["tokens"]), "warmup": int(g["warmup"]), "final_lr": float(g["final_lr"])}


def openlm_shape(d_model: int, n_layer: int, n_heads: int) -> TransformerShape:
    """OpenLM's shape for a grid run (Gadre et al. 2024, App. B; open_lm configs): SwiGLU MLP of
    width ``256 ceil((8 d_model / 3) / 256)``, no biases, LayerNorm without bias (two per block
    and a final one), rotary positions, untied output layer, 50,432-row vocabulary."""
    d_ff = 256 * ((int(2 * 4 * d_model / 3) + 255) // 256)
    return TransformerShape(n_layer=n_layer, d_model=d_model, n_heads=n_heads,
                            d_head=d_model // n_heads, d_ff=d_ff, vocab_size=GADRE_VOCAB,
                            n_ctx=GADRE_SEQ_LEN, glu=True, tied_embeddings=False,
                            learned_positions=False, bias=False, norm_bias=False)


def load_gadre_grid() -> pd.DataFrame:
    """The 435 grid runs of Gadre et al. 2024, one row a run.

    Columns: ``run`` (the upstream key); ``d_model``, ``n_layer``, ``n_heads``; ``aspect``
    d_model / n_layer; ``batch_seqs`` [sequences of 2,048 tokens] and ``batch`` [tokens]; ``lr``
    peak learning rate; ``final_lr``; ``weight_decay``; ``warmup`` [steps]; ``tokens`` D [tokens];
    ``params`` total parameters counted by :func:`openlm_shape` (embedding and output layer
    included) [parameters]; ``params_non_embedding`` (attention, MLP, norms) [parameters];
    ``tokens_per_param`` D / params; ``steps`` D / batch; ``flops`` C = 6 N D with N = params
    [FLOP]; ``loss`` final loss on their OpenLM validation set [nats/token].
    Rows are sorted by (params, d_model, n_layer, n_heads, warmup).
    """
    raw = json.loads(Path(fetch(GADRE_GRID_KEY)).read_text(encoding="utf-8"))
    rows = []
    for key, loss in raw.items():
        row = parse_grid_key(key)
        if not isinstance(loss, (int, float)) or not np.isfinite(loss) or loss <= 0:
            raise ValueError(f"grid run {key!r}: loss {loss!r} is not a positive number")
        pc = count_params(openlm_shape(row["d_model"], row["n_layer"], row["n_heads"]))
        row.update(run=key, params=float(pc.total), params_non_embedding=float(pc.non_embedding),
                   loss=float(loss))
        rows.append(row)
    df = pd.DataFrame(rows)
    df["aspect"] = df["d_model"] / df["n_layer"]
    df["batch"] = df["batch_seqs"] * float(GADRE_SEQ_LEN)
    df["tokens_per_param"] = df["tokens"] / df["params"]
    df["steps"] = df["tokens"] / df["batch"]
    df["flops"] = 6.0 * df["params"] * df["tokens"]
    df = df.sort_values(["params", "d_model", "n_layer", "n_heads", "warmup"], kind="stable")
    cols = ["run", "d_model", "n_layer", "n_heads", "aspect", "batch_seqs", "batch", "lr", "final_lr",
            "weight_decay", "warmup", "tokens", "params", "params_non_embedding", "tokens_per_param",
            "steps", "flops", "loss"]
    return df[cols].reset_index(drop=True)
