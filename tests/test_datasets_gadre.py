"""Gadre et al. 2024's grid: registry entry, key parsing, tidy loader and its units."""

import os

import numpy as np
import pytest

from smallest_loss import counting, datasets

MIRROR = "/work/shared/data/external"


def test_registry_entry():
    entry = datasets.REGISTRY[datasets.GADRE_GRID_KEY]
    assert entry.sha256 == "ca332946e0f359950c47a115662e8fdea40e33807fc6bb8ebb0adc4a17521050"
    assert entry.url.endswith("a003c4913793ac2ae7ef87b28ecb562955d026d5/exp_data/grid.json")
    assert entry.license == "MIT" and "2403.08540" in entry.citation


def test_parse_grid_key():
    row = datasets.parse_grid_key("d=576_l=24_h=8-64-0.003-0.033-64-3073547520-400-3e-05")
    assert row == {"d_model": 576, "n_layer": 24, "n_heads": 8, "batch_seqs": 64, "lr": 0.003,
                   "weight_decay": 0.033, "tokens": 3073547520.0, "warmup": 400, "final_lr": 3e-05}
    with pytest.raises(ValueError, match="does not match"):
        datasets.parse_grid_key("d=576_l=24-64")
    with pytest.raises(ValueError, match="two batch fields differ"):
        datasets.parse_grid_key("d=576_l=24_h=8-64-0.003-0.033-32-3073547520-400-3e-05")


def test_openlm_shape_matches_released_model_card():
    # exp_data/models/rw_original-d=576_l=24_h=8-1.0.json: params 153,677,376 (20 x tokens
    # 3,073,547,520); params_no_embed 124,628,544 = everything but the input embedding.
    pc = counting.count_params(datasets.openlm_shape(576, 24, 8))
    assert pc.total == 153_677_376
    assert pc.total - pc.embedding == 124_628_544


@pytest.mark.skipif(not os.path.isdir(MIRROR) and not os.environ.get(datasets.MIRROR_ENV),
                    reason="needs the offline mirror or network")
def test_load_gadre_grid(monkeypatch):
    if not os.environ.get(datasets.MIRROR_ENV):
        monkeypatch.setenv(datasets.MIRROR_ENV, MIRROR)
    g = datasets.load_gadre_grid()
    assert len(g) == 435 and g.run.is_unique
    assert np.allclose(g.tokens, 20 * g.params)               # 20 tokens per (counted) parameter
    assert set(g.warmup) == {100, 200, 400, 2000} and set(g.batch_seqs) == {8, 16, 64}
    assert (g.lr == 3e-3).all()                                 # fixed peak rate (Sec. 3.2)
    assert np.allclose(g.flops, 6 * g.params * g.tokens) and np.allclose(g.batch, 2048 * g.batch_seqs)
    assert g.loss.between(2.4, 5.4).all()
    assert g.params.min() == pytest.approx(1.01e7, rel=0.01) and g.params.max() < 5e8


def test_released_model_files_are_pinned():
    names = datasets.gadre2024.gadre_model_names()
    assert len(names) == 104
    for name in names:
        for key in (f"gadre2024/models/{name}.json", f"gadre2024/evals/evaluation_{name}_heavy.json"):
            entry = datasets.REGISTRY[key]
            assert len(entry.sha256) == 64 and entry.license == "MIT"
            assert entry.url.startswith("https://raw.githubusercontent.com/mlfoundations/scaling/a003c49")


def test_load_gadre_models(monkeypatch):
    monkeypatch.setenv("SMALLEST_LOSS_DATA_MIRROR", MIRROR)
    df = datasets.gadre2024.load_gadre_models()
    assert len(df) == 832 and df["model"].nunique() == 104
    assert set(df["val_set"]) == set(datasets.gadre2024.GADRE_VAL_SETS.values())
    assert df.groupby("corpus")["model"].nunique().to_dict() == {"c4": 34, "redpajama": 35, "refinedweb": 35}
    assert df["tokens_per_param"].min() == pytest.approx(5.0) and df["tokens_per_param"].max() == pytest.approx(640.0)
    row = df[(df["model"] == "rw_original-d=96_l=8_h=4-1.0") & (df["val_set"] == "openlm")].iloc[0]
    assert row["loss"] == pytest.approx(6.10843079884847)
    assert row["params"] == 10569312 and row["tokens"] == 211386240
    assert row["flops"] == pytest.approx(6 * 10569312 * 211386240)
    assert (df["loss_lo"] <= df["loss"]).all() and (df["loss"] <= df["loss_hi"]).all()
    big = df[df["config"] == "open_lm_7b"]
    assert set(big["corpus"]) == {"c4", "redpajama", "refinedweb"} and (big["params"] == 6889410560).all()


def test_load_gadre_evals(monkeypatch):
    monkeypatch.setenv("SMALLEST_LOSS_DATA_MIRROR", MIRROR)
    ev = datasets.gadre2024.load_gadre_evals()
    assert ev["model"].nunique() == 104 and ev["task"].nunique() == 46
    assert ev["accuracy"].between(0, 1).all()
    meta = datasets.gadre2024.load_gadre_eval_metadata()
    assert set(ev["task"]) <= set(meta["task"])
    assert meta.set_index("task").loc["mmlu_zeroshot", "random_baseline"] == pytest.approx(0.25)


def test_gadre_model_fields_are_checked():
    g = datasets.gadre2024
    with pytest.raises(ValueError, match="unknown training corpus 'pile'"):
        g._corpus_of("pile-d=96_l=8_h=4-1.0")
    with pytest.raises(ValueError, match="is not one known set"):
        g._val_set_of("m", ["training/eval_data/other/shard.tar"])
    with pytest.raises(ValueError, match="params = -1 is not a positive number"):
        g._number_field("m", {"params": -1}, "params")
