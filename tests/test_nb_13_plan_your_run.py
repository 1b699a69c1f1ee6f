"""Chapter 13 run with small parameters; its glued numbers recomputed independently from the
committed laptop results in data/study/laptop_synthetic/ (runs.csv, curves.csv)."""

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbrun import ROOT, run_notebook

NOTEBOOK = "notebooks/13_plan_your_run.md"
N_BOOTSTRAP = 30
pytestmark = pytest.mark.notebook

# SMALLEST_LOSS_STUDY_DIR points the test (and the chapter) at another copy of the results.
STUDY = Path(os.environ.get("SMALLEST_LOSS_STUDY_DIR", ROOT / "data" / "study"))
FOLDER = STUDY / "laptop_synthetic"
if not (FOLDER / "runs.csv").is_file():
    pytestmark = [pytestmark, pytest.mark.skip(
        reason=f"{FOLDER} is absent: import the finished laptop study with "
               "'.venv/bin/python data/study/import_laptop.py synthetic'")]


@pytest.fixture(scope="module")
def study():
    return pd.read_csv(FOLDER / "runs.csv"), pd.read_csv(FOLDER / "curves.csv")


@pytest.fixture(scope="module")
def glued():
    params = {"n_bootstrap": N_BOOTSTRAP}
    if "SMALLEST_LOSS_STUDY_DIR" in os.environ:
        params["study_dir"] = str(STUDY)
    _, values = run_notebook(NOTEBOOK, params)
    return values


def test_study_summary(glued, study):
    runs, _ = study
    assert glued["study_n_runs"] == len(runs)
    assert glued["study_n_budgets"] == runs.budget.nunique()
    assert glued["study_flops"] == pytest.approx(runs.flops.sum(), rel=1e-12)
    assert glued["ho_budget"] == pytest.approx(runs.budget.max())


def test_workflow_fits_match_the_library(glued, study):
    from smallest_loss.fit import fit_approach2, fit_approach3

    runs, _ = study
    try:
        ref2 = fit_approach2(runs.params, runs.flops, runs.loss, budget=runs.budget)
    except ValueError:  # fewer than two budgets with a minimum inside their sizes
        ref2 = None
    if ref2 is not None:
        assert glued["wf_a2_a"] == pytest.approx(ref2.a, abs=1e-9)
    else:
        assert "wf_a2_a" not in glued and glued["wf_a2_text"].startswith("Approach 2 refuses")
    ref3 = fit_approach3(runs.params, runs.tokens, runs.loss)
    assert glued["wf_a3_identified"] is bool(ref3.identified)
    expected = "fit3.json" if ref3.identified else "fit2.json" if ref2 else "fit1.json"
    assert glued["wf_law_file"] == expected
    if ref3.identified:  # a well-determined exponent: stable across BLAS kernels
        assert glued["wf_a3_a"] == pytest.approx(ref3.a, abs=0.02)
        assert glued["wf_law_a"] == pytest.approx(ref3.a, abs=0.02)
    elif ref2 is not None:
        assert glued["wf_law_a"] == pytest.approx(ref2.a, abs=1e-9)


def test_dollar_plan(glued, study):
    runs, _ = study
    hours = glued["wf_dollars"] / glued["wf_price"]
    assert glued["wf_plan_hours"] == pytest.approx(hours, rel=1e-9)
    # FLOPs = hours x 3600 x achieved model FLOP/s of the largest runs (= peak x MFU)
    largest = runs[runs.params == runs.params.max()]
    achieved = float(largest.flops_per_s.median())
    assert glued["wf_plan_flops"] == pytest.approx(hours * 3600 * achieved, rel=1e-3)
    assert glued["wf_plan_over_study"] == pytest.approx(
        glued["wf_plan_flops"] / runs.budget.max(), rel=1e-9)
    assert glued["wf_plan_tokens"] == pytest.approx(
        glued["wf_plan_flops"] / (6 * glued["wf_plan_params"]), rel=1e-9)
    # doubling the money multiplies the size by 2^a
    assert glued["ex_double_growth"] == pytest.approx(2 ** glued["wf_law_a"], rel=1e-6)


def test_holdout_numbers(glued, study):
    from smallest_loss.fit import holdout

    runs, curves = study
    budgets = np.sort(runs.budget.unique())
    target = holdout.holdout_target(runs, budgets[-1])
    assert glued["ho_params_opt"] == pytest.approx(target.params_opt, rel=1e-9)
    assert glued["ho_loss_opt"] == pytest.approx(target.loss_opt, rel=1e-9)
    train = tuple(float(b) for b in budgets[:-1])
    # Approach 2 from every run below the held-out budget: a closed-form fit, recomputed here
    from smallest_loss.fit import fit_approach2

    below = runs[runs.budget < budgets[-1]]
    try:
        fit2 = fit_approach2(below.params, below.flops, below.loss, budget=below.budget)
    except ValueError:  # fewer than two usable budgets below the held-out one
        fit2 = None
    if fit2 is not None:
        err2 = fit2.params_opt(budgets[-1]).item() / target.params_opt - 1
        assert abs(glued["holdout_params_error_pct"]) <= 100 * abs(err2) + 1e-9
    # the best errors are errors of some forecast: finite, and no better than zero
    assert math.isfinite(glued["holdout_loss_error_pct"])
    assert math.isfinite(glued["holdout_params_error_pct"])
    if glued["holdout_full_identified"] == "identified":
        assert abs(glued["holdout_loss_error_pct"]) <= abs(glued["holdout_full_loss_error_pct"]) + 1e-9
    frac = glued["study_compute_fraction_for_5pct"]
    statement = glued["study_compute_fraction_statement"]
    if isinstance(frac, float) and math.isfinite(frac):
        assert 0 < frac < 1 and f"{frac:.1%}" in statement
        assert abs(glued["holdout_params_error_pct"]) <= 5.0 + 1e-9
    else:
        assert statement.startswith("No subset")
