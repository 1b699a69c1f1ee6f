"""DCLM's model database: 416 models trained on different corpora and filters, with CORE scores.

``dclm/DCLM_model_database.csv`` (mlfoundations/dclm, MIT) is the table behind Li et al. 2024
("DataComp-LM: In search of the next generation of training sets for language models",
arXiv:2406.11794): one row per trained model, its training set (``Dataset``), its size and tokens,
the CORE and EXTENDED aggregate scores and per-task results. Most rows are OpenLM models of
1.44 B parameters trained on 28.8 B tokens (the 1B-1x competition scale), which differ only in
their data.

What the columns mean, as read in the authors' repository at commit 361714b:

* ``Core`` is the mean *centered accuracy* over the 22 tasks listed as ``low_variance_datasets``
  in ``eval/additional_aggregation.json``; a task's centered accuracy is
  ``(acc - b) / (1 - b)`` with ``b`` its random-guess baseline (``eval/aggregated_metrics.py``),
  so 0 is chance and 1 perfect. ``Extended`` is the same mean over all evaluated tasks. The CSV
  holds the *v1* scores: the repository's September 2025 correction of some baselines (its
  README; ``Core_v2`` in ``exp_data/evals``) lowers the numbers slightly.
* ``eval_metrics.perplexity`` is, despite its name, not a perplexity: ``eval/eval_openlm_ckpt.py``
  stores there the ``loss`` that OpenLM's ``evaluate_loop`` returns, the mean next-token
  cross-entropy (``torch.nn.CrossEntropyLoss``, natural log: nats/token) on one validation shard,
  ``validation_data/shard_00000000.tar`` of the Hugging Face data set
  ``mlfoundations/open_lm_example_data``. Perplexity would be its exponential. The shard is
  pre-tokenized, so the number is comparable only between models with the same tokenizer.
"""

from __future__ import annotations

import pandas as pd

from ..counting import training_flops
from .registry import REGISTRY, ExternalFile, fetch

__all__ = ["DCLM_KEY", "DCLM_1B_PARAMS", "DCLM_1B_TOKENS", "load_dclm_models"]

DCLM_KEY = "dclm/DCLM_model_database.csv"
DCLM_1B_PARAMS = 1_439_795_200
"""Parameters of the 1.44 B OpenLM model (the ``params`` field of its rows)."""
DCLM_1B_TOKENS = 28_795_904_000
"""Training tokens of the 1B-1x scale (20 tokens per parameter; the ``tokens`` field)."""

REGISTRY.update({DCLM_KEY: ExternalFile(
    DCLM_KEY,
    "https://raw.githubusercontent.com/mlfoundations/dclm/361714bdd60bb9b7f4b2d8354cebbf0dec0c329e/"
    "assets/DCLM_model_database.csv",
    "41ad7e91349a3d2b0caa0da3dd903d2d9f728bcabec17752fa1a10ae7e7c3e81",
    "MIT",
    "Li et al. 2024, 'DataComp-LM: In search of the next generation of training sets for language "
    "models', arXiv:2406.11794 (model database of the DCLM repository)",
)})

_COLUMNS = {"Dataset": "dataset", "model": "architecture", "params": "params", "tokens": "tokens",
            "Core": "core", "Extended": "extended", "tokenizer": "tokenizer",
            "eval_metrics.perplexity": "openlm_val_loss", "mmlu_fewshot": "mmlu_fewshot",
            "Model JSON": "model_json"}


def load_dclm_models() -> pd.DataFrame:
    """DCLM's model database, one row per trained model (416 rows).

    Columns: ``dataset`` training set and filter (upstream ``Dataset``); ``architecture`` (OpenLM
    config, e.g. ``open_lm_1b``); ``params`` N [parameters]; ``tokens`` D [tokens];
    ``tokens_per_param``; ``flops`` C = 6 N D [FLOP]; ``core`` and ``extended`` the CORE and
    EXTENDED scores (v1 mean centered accuracy over 22 and over all tasks, dimensionless; NaN where
    not evaluated); ``mmlu_fewshot`` accuracy (fraction); ``tokenizer``; ``openlm_val_loss`` the
    upstream ``eval_metrics.perplexity`` field, the mean cross-entropy on OpenLM's validation shard
    [nats/token] (see the module docstring; comparable only within one tokenizer; NaN where
    absent); ``model_json`` (upstream evaluation file).
    ValueError naming the column if one is missing.
    """
    raw = pd.read_csv(fetch(DCLM_KEY))
    missing = [c for c in _COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{DCLM_KEY}: column {missing[0]!r} is missing")
    df = raw[list(_COLUMNS)].rename(columns=_COLUMNS)
    for col in ("params", "tokens", "core", "extended", "openlm_val_loss", "mmlu_fewshot"):
        df[col] = pd.to_numeric(df[col], errors="raise").astype(float)
    bad = ~(df["params"] > 0) | ~(df["tokens"] > 0)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(f"{DCLM_KEY}: row {i} has params = {df['params'].iat[i]!r}, "
                         f"tokens = {df['tokens'].iat[i]!r}; expected positive numbers")
    df["tokens_per_param"] = df["tokens"] / df["params"]
    df["flops"] = training_flops(df["params"], df["tokens"])
    return df[["dataset", "architecture", "params", "tokens", "tokens_per_param", "flops", "core",
               "extended", "mmlu_fewshot", "tokenizer", "openlm_val_loss", "model_json"]]
