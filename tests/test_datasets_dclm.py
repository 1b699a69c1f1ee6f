"""DCLM's model database: registry entry and tidy loader."""

import pytest

from smallest_loss.datasets import registry
from smallest_loss.datasets.dclm import DCLM_1B_PARAMS, DCLM_1B_TOKENS, DCLM_KEY, load_dclm_models


def test_registry_entry():
    f = registry.REGISTRY[DCLM_KEY]
    assert f.sha256 == "41ad7e91349a3d2b0caa0da3dd903d2d9f728bcabec17752fa1a10ae7e7c3e81"
    assert f.license == "MIT" and "361714bdd60bb9b7f4b2d8354cebbf0dec0c329e" in f.url


def test_loader():
    d = load_dclm_models()
    assert len(d) == 416
    same = d[(d.params == DCLM_1B_PARAMS) & (d.tokens == DCLM_1B_TOKENS)]
    assert len(same) == 296 and same.core.notna().sum() == 209
    assert same.tokens_per_param.to_numpy() == pytest.approx(20.0)
    assert d.flops.iloc[0] == pytest.approx(6 * d.params.iloc[0] * d.tokens.iloc[0])
    assert d.core.max() < 1 and set(["dataset", "openlm_val_loss", "tokenizer"]) <= set(d.columns)


def test_openlm_val_loss_is_a_loss_in_nats():
    # eval_metrics.perplexity holds OpenLM's mean cross-entropy, not exp of it: values of a
    # 1B-scale model sit near 2-3 nats/token, far below any plausible perplexity.
    d = load_dclm_models()
    same = d[(d.params == DCLM_1B_PARAMS) & (d.tokens == DCLM_1B_TOKENS)
             & (d.tokenizer == "EleutherAI/gpt-neox-20b")].openlm_val_loss.dropna()
    assert len(same) > 100
    assert 2.0 < same.median() < 3.5 and same.max() < 10


def test_core_is_dclm_v1():
    # The CSV's Core equals the authors' Core_v1 for this model (exp_data/evals at 361714b:
    # Core_v1 0.26535540971938704, Core_v2 0.23941170016622035).
    d = load_dclm_models()
    row = d[d.model_json.str.startswith("evaluation_rpj_rw_as_CC-open_lm_1b")]
    assert row.core.iloc[0] == pytest.approx(0.26535540971938704, abs=1e-9)
