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
    opening = {"fit3.json": "The decision is", "fit2.json": "The runs point to",
               "fit1.json": "These runs do not support"}[expected]
    assert glued["wf_decision_text"].startswith(opening)
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
    prov = json.loads((FOLDER / "provenance.json").read_text())
    peak = prov.get("matmul_peak_flops_per_s")
    case = ("The study recorded no peak" if peak is None else
            "The largest runs went faster" if achieved >= peak else "The MFU is")
    assert glued["wf_mfu_case"].startswith(case)
    assert glued["wf_mfu"] == pytest.approx(min(achieved / (peak or achieved), 1.0), rel=1e-9)
    # doubling the money multiplies the size by 2^a
    assert glued["ex_double_growth"] == pytest.approx(2 ** glued["wf_law_a"], rel=1e-6)


def test_approach1_matches_the_library(glued, study):
    from smallest_loss.fit import fit_approach1

    _, curves = study
    params = curves.flops / (6.0 * curves.tokens)  # as the command derives it
    ref = fit_approach1(curves.run.to_numpy(dtype=object), params, curves.tokens, curves.loss)
    assert glued["wf_a1_a"] == pytest.approx(ref.a, abs=1e-9)


def _loo_vertices(runs, budget):
    """Leave-one-run-out parabola vertices in ln N, by numpy.polyfit (independent of the
    library): (sizes, losses, failed) over the refits."""
    at = runs[runs.budget == budget]
    x, y = np.log(at.params.to_numpy(float)), at.loss.to_numpy(float)
    sizes, losses, failed = [], [], 0
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        if np.unique(x[keep]).size < 3:
            continue
        c2, c1, c0 = np.polyfit(x[keep], y[keep], 2)
        if c2 <= 0:
            failed += 1
            continue
        xv = -c1 / (2 * c2)
        sizes.append(np.exp(xv))
        losses.append(c0 + c1 * xv + c2 * xv ** 2)
    return np.array(sizes), np.array(losses), failed


def test_target_and_its_range(glued, study):
    from smallest_loss.fit import holdout

    runs, _ = study
    budgets = np.sort(runs.budget.unique())
    target = holdout.holdout_target(runs, budgets[-1])
    assert glued["ho_params_opt"] == pytest.approx(target.params_opt, rel=1e-9)
    assert glued["ho_loss_opt"] == pytest.approx(target.loss_opt, rel=1e-9)
    assert glued["ho_inside"] == ("inside" if target.inside else "outside")
    assert glued["ho_n_runs"] == (runs.budget == budgets[-1]).sum()
    assert glued["ho_extrapolation"] == pytest.approx(budgets[-1] / budgets[-2], rel=1e-12)
    sizes, losses, failed = _loo_vertices(runs, budgets[-1])
    text = glued["ho_target_text"]
    if failed:
        assert text.startswith(f"In {failed} of the") and "cannot verify 5%" in text
        assert glued["ho_resolvable"] is False
    else:
        half = max(sizes.max() / target.params_opt - 1, 1 - sizes.min() / target.params_opt)
        half_loss = max(losses.max() / target.loss_opt - 1, 1 - losses.min() / target.loss_opt)
        assert glued["ho_params_halfwidth_pct"] == pytest.approx(100 * half, rel=1e-6)
        assert glued["ho_loss_halfwidth_pct"] == pytest.approx(100 * half_loss, rel=1e-6)
        assert glued["ho_resolvable"] is bool(half <= 0.05)
        assert ("cannot verify 5%" in text) is bool(half > 0.05)
    assert ("target is itself an extrapolation" in text) is (not target.inside)


def test_holdout_numbers(glued, study):
    from smallest_loss.fit import fit_approach2, holdout

    runs, curves = study
    budgets = np.sort(runs.budget.unique())
    study_flops = runs.flops.sum()
    target = holdout.holdout_target(runs, budgets[-1])
    train = tuple(float(b) for b in budgets[:-1])
    # the forecast chosen in advance: Approach 3 on every run below the held-out budget
    full = holdout.forecast(runs, curves, [holdout.Subset("all below", train)], target,
                            approaches=(3,)).iloc[0]
    assert (glued["holdout_full_identified"] == "identified") is bool(full.identified)
    # an identified fit is stable across BLAS kernels; one that is not can move further
    rel = 1e-3 if full.identified else 0.05
    if math.isfinite(full.params_error):
        assert glued["holdout_full_params_error_pct"] == pytest.approx(
            100 * full.params_error, rel=rel, abs=0.05)
        assert glued["holdout_full_loss_error_pct"] == pytest.approx(
            100 * full.loss_error, rel=rel, abs=0.05)
        assert glued["holdout_full_params_error_abs_pct"] == pytest.approx(
            abs(glued["holdout_full_params_error_pct"]), rel=1e-12)
        word = "too small" if full.params_error < 0 else "too large"
        assert glued["holdout_full_direction"] == word and word in glued["holdout_full_text"]
        assert glued["holdout_full_text"].startswith("Fixed in advance")
    else:
        assert glued["holdout_full_direction"] == "none"
    # Approach 2 from every run below the held-out budget: a closed-form fit, recomputed here
    below = runs[runs.budget < budgets[-1]]
    try:
        fit2 = fit_approach2(below.params, below.flops, below.loss, budget=below.budget)
    except ValueError:  # fewer than two usable budgets below the held-out one
        fit2 = None
    if fit2 is not None:
        err2 = fit2.params_opt(budgets[-1]).item() / target.params_opt - 1
        assert abs(glued["holdout_params_error_pct"]) <= 100 * abs(err2) + 1e-9
    # best in hindsight is chosen over every forecast, the one fixed in advance included
    if math.isfinite(full.params_error):
        assert abs(glued["holdout_loss_error_pct"]) <= abs(
            glued["holdout_full_loss_error_pct"]) + 1e-9
        assert abs(glued["holdout_params_error_pct"]) <= abs(
            glued["holdout_full_params_error_pct"]) + 1e-9
    assert glued["holdout_hindsight_text"].startswith("Best in hindsight")
    frac = glued["study_compute_fraction_for_5pct"]
    statement = glued["study_compute_fraction_statement"]
    assert ("cannot verify 5%" in statement or "could not have verified 5%" in statement) is (
        not glued["ho_resolvable"])
    if isinstance(frac, float) and math.isfinite(frac):
        assert 0 < frac < 1 and f"{frac:.1%}" in statement
        name = statement.split("subset '")[1].split("'")[0]
        appr = int(statement.split("Approach ")[1][0])
        sub = holdout.Subset(name, train)
        if name.startswith("smallest "):
            sub = holdout.Subset(name, train[:int(name.split()[1])])
        elif name == "largest budget only":
            sub = holdout.Subset(name, train[-1:])
        elif name == "3 sizes per budget":
            sub = holdout.Subset(name, train, sizes_per_budget=3)
        elif name == "all checkpoints":
            sub = holdout.Subset(name, train, checkpoints="curve", min_fraction=0.1)
        elif name == "runs cut at half":
            sub = holdout.Subset(name, train, checkpoints="curve", min_fraction=0.1,
                                 stop_fraction=0.5)
        row = holdout.forecast(runs, curves, [sub], target, approaches=(appr,)).iloc[0]
        assert row.identified and abs(row.params_error) <= 0.05 + 1e-3
        assert frac == pytest.approx(row.flops_spent / study_flops, rel=1e-12)
        assert glued["study_compute_runs_for_5pct"] == pytest.approx(
            row.flops_spent / budgets[-1], rel=1e-12)
        # a looser target can only find the same subset or a cheaper one
        assert glued["ex_tolerance_text"].startswith("The cheapest is")
        assert glued["ex_frac10"] <= frac + 1e-12
    else:
        assert statement.startswith("No subset")
