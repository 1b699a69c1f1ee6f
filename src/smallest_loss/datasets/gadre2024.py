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
from ._gadre2024_sha256 import GADRE_FILE_SHA256
from .registry import REGISTRY, ExternalFile, fetch

__all__ = ["GADRE_GRID_KEY", "GADRE_VOCAB", "GADRE_SEQ_LEN", "GADRE_CORPORA", "GADRE_VAL_SETS",
           "openlm_shape", "parse_grid_key", "load_gadre_grid", "gadre_model_names", "load_gadre_models",
           "load_gadre_evals", "load_gadre_eval_metadata"]

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

_GADRE_BASE = "https://raw.githubusercontent.com/mlfoundations/scaling/a003c4913793ac2ae7ef87b28ecb562955d026d5/exp_data/"
_GADRE_CITE = ("Gadre et al. 2024, 'Language models scale reliably with over-training and on downstream "
               "tasks', arXiv:2403.08540 (released models and evaluations)")
REGISTRY.update({f"gadre2024/{name}": ExternalFile(f"gadre2024/{name}", _GADRE_BASE + name, digest, "MIT", _GADRE_CITE)
                 for name, digest in GADRE_FILE_SHA256.items()})

GADRE_CORPORA = {"c4_original": "c4", "rpj": "redpajama", "rw_original": "refinedweb"}
"""Upstream training-set names and the short names the loaders use: C4, RedPajama, RefinedWeb."""

GADRE_VAL_SETS = {
    "val_tok_mult/openlm/": "openlm",
    "c4_val/": "c4",
    "paloma_c4_en/": "paloma_c4",
    "paloma_dolma_100_programing_languages/": "paloma_code",
    "paloma_falcon-refinedweb/": "paloma_refinedweb",
    "paloma_ptb/": "paloma_ptb",
    "paloma_redpajama/": "paloma_redpajama",
    "de-en/": "de_en",
}
"""Fragments of the upstream validation-set paths and their short names: OpenLM's validation shard,
C4's validation split (the loss the paper's laws are fitted to), Paloma's C4, code (100 programming
languages of Dolma), RefinedWeb, Penn Treebank and RedPajama samples, and German-English text."""

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


def gadre_model_names() -> list[str]:
    """Names of the 104 released models, e.g. ``rw_original-d=96_l=8_h=4-1.0`` (corpus, config,
    multiple of 20 tokens per parameter), sorted."""
    return sorted(k[len("models/"):-len(".json")] for k in GADRE_FILE_SHA256 if k.startswith("models/"))


def _corpus_of(name: str) -> str:
    prefix = name.split("-", 1)[0]
    if prefix not in GADRE_CORPORA:
        raise ValueError(f"model {name!r}: unknown training corpus {prefix!r}")
    return GADRE_CORPORA[prefix]


def _val_set_of(name: str, paths: list) -> str:
    path = " ".join(str(p) for p in paths)
    hits = [short for fragment, short in GADRE_VAL_SETS.items() if fragment in path]
    if len(hits) != 1:
        raise ValueError(f"model {name!r}: validation data {path!r} is not one known set")
    return hits[0]


def _number_field(name: str, where: dict, key: str) -> float:
    value = where.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"model {name!r}: {key} = {value!r} is not a positive number")
    return float(value)


def load_gadre_models() -> pd.DataFrame:
    """Losses of Gadre et al. 2024's 104 released models on each of their 8 validation sets, one row
    per (model, validation set): 832 rows.

    Columns: ``model`` (upstream name); ``corpus`` training set (``c4``, ``redpajama``,
    ``refinedweb``); ``config`` (OpenLM config, e.g. ``d=96_l=8_h=4`` or ``open_lm_1b``);
    ``multiplier`` M, the upstream ``chinchilla_multiplier`` (tokens = M x 20 x params, roughly);
    ``params`` N and ``params_non_embedding`` as the authors count them [parameters]; ``tokens`` D
    [tokens]; ``tokens_per_param`` D / N; ``flops`` C = 6 N D [FLOP]; ``val_set`` (see
    :data:`GADRE_VAL_SETS`); ``loss`` mean validation loss [nats/token]; ``loss_lo``/``loss_hi`` the
    upstream 95% interval over tokens [nats/token]; ``val_tokens`` tokens evaluated.
    Sorted by corpus, params, tokens, val_set.
    """
    from ..counting import training_flops

    rows = []
    for name in gadre_model_names():
        raw = json.loads(Path(fetch(f"gadre2024/models/{name}.json")).read_text(encoding="utf-8"))
        if raw.get("name") != name:
            raise ValueError(f"models/{name}.json: its name field is {raw.get('name')!r}")
        hp = raw.get("hyperparameters", {})
        params = _number_field(name, hp, "params")
        tokens = _number_field(name, hp, "tokens")
        base = dict(model=name, corpus=_corpus_of(name), config=str(hp.get("model", "")).rsplit("/", 1)[-1].removesuffix(".json"),
                    multiplier=_number_field(name, hp, "chinchilla_multiplier"), params=params,
                    params_non_embedding=_number_field(name, hp, "params_no_embed"), tokens=tokens,
                    tokens_per_param=tokens / params, flops=float(training_flops(params, tokens)))
        for result in raw.get("results", []):
            rows.append({**base, "val_set": _val_set_of(name, result.get("val_data", [])),
                         "loss": _number_field(name, result, "loss"),
                         "loss_lo": _number_field(name, result, "loss_tokens_lower_95"),
                         "loss_hi": _number_field(name, result, "loss_tokens_upper_95"),
                         "val_tokens": _number_field(name, result, "tokens")})
    df = pd.DataFrame(rows)
    dup = df.duplicated(["model", "val_set"])
    if dup.any():
        r = df[dup].iloc[0]
        raise ValueError(f"model {r['model']!r}: validation set {r['val_set']!r} appears twice")
    return df.sort_values(["corpus", "params", "tokens", "val_set"], kind="stable").reset_index(drop=True)


def load_gadre_evals() -> pd.DataFrame:
    """Downstream accuracies of the 104 released models (LLM Foundry's in-context-learning suite,
    upstream "heavy" evaluation), one row per (model, task).

    Columns: ``model``, ``corpus``, ``task`` (upstream task name) and ``accuracy`` (a fraction in
    [0, 1]; 0 for tasks a small model never gets right). Join with :func:`load_gadre_models` on
    ``model`` for N and D, and with :func:`load_gadre_eval_metadata` on ``task`` for the random-guess
    baseline.
    """
    rows = []
    for name in gadre_model_names():
        raw = json.loads(Path(fetch(f"gadre2024/evals/evaluation_{name}_heavy.json")).read_text(encoding="utf-8"))
        icl = raw.get("eval_metrics", {}).get("icl")
        if not isinstance(icl, dict) or not icl:
            raise ValueError(f"evals/evaluation_{name}_heavy.json: no eval_metrics.icl table")
        for task, acc in icl.items():
            if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0 <= acc <= 1:
                raise ValueError(f"model {name!r}: task {task!r} accuracy {acc!r} is not in [0, 1]")
            rows.append(dict(model=name, corpus=_corpus_of(name), task=str(task), accuracy=float(acc)))
    return pd.DataFrame(rows).sort_values(["model", "task"], kind="stable").reset_index(drop=True)


def load_gadre_eval_metadata() -> pd.DataFrame:
    """The evaluation suite's tasks: ``task``, ``category``, ``task_type``, ``shots``, ``n_items``,
    ``random_baseline`` (accuracy of random guessing, a fraction) and ``description``."""
    raw = pd.read_csv(fetch("gadre2024/eval_metadata.csv"))
    need = ["Eval Task", "Task Category", "Task Type", "#shots", "#datapoints", "Random baseline", "Description"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ValueError(f"eval_metadata.csv: missing column {missing[0]!r}")
    df = pd.DataFrame({"task": raw["Eval Task"].astype(str), "category": raw["Task Category"],
                       "task_type": raw["Task Type"], "shots": pd.to_numeric(raw["#shots"], errors="raise"),
                       "n_items": pd.to_numeric(raw["#datapoints"], errors="raise"),
                       "random_baseline": pd.to_numeric(raw["Random baseline"], errors="raise") / 100.0,
                       "description": raw["Description"]})
    return df
