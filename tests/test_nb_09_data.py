"""Chapter 9 run with small parameters; its glued numbers checked against the data and the papers."""

import numpy as np
import pandas as pd
import pytest

from nbrun import run_notebook
from smallest_loss.datasets.dclm import DCLM_1B_PARAMS, DCLM_1B_TOKENS, load_dclm_models
from smallest_loss.datasets.registry import load_datablations
from smallest_loss.fit.data_constrained import R_STAR_BOUNDS

NOTEBOOK = "notebooks/09_data.md"
pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def glued():
    _, values = run_notebook(NOTEBOOK, {"n_bootstrap": 20, "prune_trials": 2})
    return values


def test_published_constants_and_plan(glued):
    # Muennighoff et al. 2023, appendix "Derivation of Data-Constrained Scaling Laws", and
    # huggingface/datablations README, "Parametric Fit"
    assert glued["paper_R_D_star"] == pytest.approx(15.387756)
    assert glued["max_effective_multiple"] == pytest.approx(16.387756)
    assert glued["one_minus_inv_e"] == pytest.approx(1 - np.exp(-1))
    assert glued["paper_R_N_star"] == pytest.approx(5.309743)
    assert glued["plan_tokens"] == pytest.approx(227e9, rel=0.005)
    assert glued["plan_epochs"] == pytest.approx(9.1, abs=0.05)
    assert glued["plan_params"] == pytest.approx(6.8e9, rel=0.01)


def test_repetition_penalty_from_the_runs(glued):
    d = load_datablations()
    fin = d.sort_values("tokens").groupby("run").tail(1)
    one = fin[fin.epochs == 1].set_index(["data", "params"])["loss"]
    four = fin[fin.epochs == 4].set_index(["data", "params"])["loss"]
    assert glued["loss_penalty_4_epochs_pct"] == pytest.approx(100 * (four / one - 1).mean(), rel=1e-9)
    assert 0 < glued["loss_penalty_4_epochs_pct"] < 2 < 20 < glued["loss_penalty_44_epochs_pct"]


def test_refit(glued):
    # R_D* is bounded only from below: the lower end is a real number below the published
    # 15.4, the upper end of the bootstrap interval is the edge of the search range.
    edge = R_STAR_BOUNDS[1]
    assert 5 < glued["R_D_star"] < 30
    assert 2 < glued["R_D_star_lo"] < min(glued["R_D_star"], 15.387756)
    assert glued["R_D_star_hi"] == pytest.approx(edge, rel=1e-6)
    assert glued["R_D_star_7"] == pytest.approx(edge, rel=1e-6)
    assert glued["R_D_star_all"] < 5
    assert glued["R_N_star_lo"] <= glued["R_N_star_refit"] <= glued["R_N_star_hi"] < edge / 10
    assert glued["n_c4_runs"] == 24
    for name in ("n_c4_runs", "n_overfit_runs", "n_44_runs", "dclm_n_chance"):
        assert glued[name + "_text"] == str(glued[name])   # counts typeset as integers


def test_dclm(glued):
    d = load_dclm_models()
    s = d[(d.params == DCLM_1B_PARAMS) & (d.tokens == DCLM_1B_TOKENS)].dropna(subset=["core"])
    assert glued["dclm_n_models"] == len(s) == 209
    assert glued["dclm_core_max"] == pytest.approx(s.core.max())
    assert glued["dclm_core_min"] == pytest.approx(s.core[s.core >= 0.05].min())
    assert glued["dclm_compute_multiplier"] > 1
    both = s[(s.tokenizer == "EleutherAI/gpt-neox-20b") & s.openlm_val_loss.notna()
             & (s.core >= 0.05)]
    assert glued["dclm_n_loss_models"] == len(both)
    rho = both[["core", "openlm_val_loss"]].rank().corr().iloc[0, 1]
    assert glued["dclm_loss_core_rank_corr"] == pytest.approx(rho, abs=1e-12)
    low = both.nsmallest(10, "openlm_val_loss")
    assert glued["dclm_lowloss_worst_pct"] == pytest.approx((both.core < low.core.min()).mean())


def test_ood_offset_and_pruning(glued):
    assert glued["ood_offset_slope_lo"] <= glued["ood_offset_slope"] <= glued["ood_offset_slope_hi"]
    assert -0.2 < glued["ood_offset_slope"] < 0.05
    assert glued["gadre_n_models"] == 104
    assert glued["sorscher_exponent_gain"] > 1.2
    assert glued["ex_worth_4"] == pytest.approx(
        (1 + 15.387756 * (1 - np.exp(-3 / 15.387756))) / 4)


def test_levers_match_chapter_14(glued):
    from smallest_loss import levers

    rep = levers.data_repetition(4.0)
    assert glued["lever_data_repetition"] == pytest.approx(rep.multiplier, rel=1e-9)
    assert glued["lever_data_repetition_flops"] == pytest.approx(rep.measured_flops, rel=1e-9)
    assert glued["lever_data_quality"] == pytest.approx(levers.data_quality().multiplier, rel=1e-9)
    assert glued["lever_data_quality"] == pytest.approx(glued["dclm_compute_multiplier"], rel=1e-9)
