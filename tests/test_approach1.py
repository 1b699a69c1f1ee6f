"""Tests for smallest_loss.fit.approach1 (Hoffmann et al. 2022, Approach 1)."""

from __future__ import annotations

import numpy as np
import pytest

from smallest_loss.fit.approach1 import ENVELOPE_COLUMNS, fit_approach1, loss_envelope
from smallest_loss.laws import HOFFMANN2022


def NUM(value: str) -> str:
    """Regex for a number as validation.py prints it: ``-1.0`` or numpy 2's ``np.float64(-1.0)``."""
    return rf"(?:np\.float64\()?{value}\)?"


def flops_where_optimal(n):
    """Budget C [FLOP] at which HOFFMANN2022 makes ``n`` parameters compute-optimal (inverse of Eq. 4)."""
    law = HOFFMANN2022
    return 6.0 * (np.asarray(n, dtype=float) / law.G) ** (1.0 / law.a)


def law_curves(per_decade: int, n_points: int = 100):
    """Synthetic training curves: the final-loss law of HOFFMANN2022 read along each run's tokens.

    Model sizes 1e7..1e11 at ``per_decade`` sizes per decade; every run sees 1e8..1e13 tokens.
    """
    sizes = 10 ** np.arange(7, 11 + 1e-9, 1 / per_decade)
    tokens = np.logspace(8, 13, n_points)
    run = np.repeat(np.arange(sizes.size), n_points)
    params = np.repeat(sizes, n_points)
    toks = np.tile(tokens, sizes.size)
    return run, params, toks, HOFFMANN2022.loss(params, toks)


FIT_RANGE = (float(flops_where_optimal(1e8)), float(flops_where_optimal(1e10)))


def test_dense_grid_recovers_hoffmann_exponent():
    # The envelope's N is the true N_opt(C) rounded to a neighbouring size on a grid of spacing
    # Delta = ln(10)/16 in ln N, so each point is off by at most Delta = 0.14 in ln N. The fit is
    # restricted to C where N_opt lies in [1e8, 1e10], well inside the sampled sizes 1e7..1e11, so
    # no edge of the staircase is fitted. For a residual bounded by h on an even grid spanning R in
    # ln C, the least-squares slope moves by at most 3h/R = 3 x 0.14 / 10.1 = 0.043; the staircase
    # residual oscillates and mostly cancels, and the observed error is below 2e-4, so the test uses
    # a tolerance of 0.002.
    fit = fit_approach1(*law_curves(per_decade=16), flops_range=FIT_RANGE)
    assert abs(fit.a - HOFFMANN2022.a) < 0.002
    assert abs(fit.b - HOFFMANN2022.b) < 0.002
    assert fit.b == pytest.approx(1.0 - fit.a, abs=1e-12)
    assert fit.k_tokens == pytest.approx(1.0 / (6.0 * fit.k_params), rel=1e-9)
    np.testing.assert_allclose(fit.params_opt(1e21), fit.k_params * 1e21**fit.a)
    np.testing.assert_allclose(fit.tokens_opt(1e21), fit.k_tokens * 1e21**fit.b)


def test_coarse_grid_stays_within_the_staircase_bound():
    # Two sizes per decade: Delta = ln(10)/2 = 1.15 and the worst-case slope error 3 Delta / R
    # (see the previous test) is 0.34; the actual error must lie within it and exceed the dense one.
    run, params, tokens, loss = law_curves(per_decade=2)
    fit = fit_approach1(run, params, tokens, loss, flops_range=FIT_RANGE)
    bound = 3 * (np.log(10) / 2) / np.log(FIT_RANGE[1] / FIT_RANGE[0])
    assert abs(fit.a - HOFFMANN2022.a) < bound


def test_envelope_matches_law_minimum_at_each_flop_value():
    run, params, tokens, loss = law_curves(per_decade=16, n_points=400)
    env = loss_envelope(run, params, tokens, loss, n_grid=200)
    assert list(env.columns) == list(ENVELOPE_COLUMNS)
    np.testing.assert_allclose(env["tokens"], env["flops"] / (6 * env["params"]), rtol=1e-12)
    inside = (env["flops"] > FIT_RANGE[0]) & (env["flops"] < FIT_RANGE[1])
    sizes = np.unique(params)
    for _, row in env[inside].iloc[::20].iterrows():
        on_curve = HOFFMANN2022.loss_at_compute(sizes, row["flops"])
        # the envelope picks the best size up to linear-interpolation error along a run
        assert row["loss"] == pytest.approx(on_curve.min(), abs=2e-4)
        assert abs(np.log(row["params"] / sizes[np.argmin(on_curve)])) <= np.log(10) / 16 + 1e-9


def test_small_hand_example_interpolates_in_log_flops_and_switches_runs():
    # Run "small" (N = 1) and run "large" (N = 10): C = 6 N D.
    run = ["small", "small", "small", "large", "large"]
    params = [1.0, 1.0, 1.0, 10.0, 10.0]
    tokens = [1.0, 10.0, 100.0, 1.0, 100.0]   # small: C = 6..600, large: C = 60..6000
    loss = [5.0, 4.0, 3.5, 4.5, 2.5]
    env = loss_envelope(run, params, tokens, loss, n_grid=5)  # C = 6 x 10^(0, .75, 1.5, 2.25, 3)
    c = np.exp(np.linspace(np.log(6.0), np.log(6000.0), 5))
    np.testing.assert_allclose(env["flops"], c)
    # C[2] = 189.7: small reads 4.0 + (3.5 - 4.0) * 0.5 = 3.75; large reads 4.5 - 2.0 * 0.25 = 4.0
    assert env["loss"].iloc[2] == pytest.approx(3.75)
    assert env["run"].iloc[2] == "small"
    assert list(env["run"]) == ["small", "small", "small", "large", "large"]
    assert env["params"].iloc[4] == 10.0 and env["tokens"].iloc[4] == pytest.approx(100.0)


def test_runs_are_not_extrapolated():
    run = [0, 0, 1, 1]
    params = [1.0, 1.0, 1000.0, 1000.0]
    tokens = [1.0, 10.0, 1.0, 10.0]  # C ranges 6..60 and 6000..60000: a gap between them
    env = loss_envelope(run, params, tokens, [3.0, 2.0, 1.0, 0.5], n_grid=41)
    assert not ((env["flops"] > 60.0 * (1 + 1e-12)) & (env["flops"] < 6000.0 * (1 - 1e-12))).any()
    assert set(env["run"]) == {0, 1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": [1.0, 2.0, 3.0, 3.0]}, r"run 0: params must be constant within a run, got 2 values"),
        ({"run": [0, 1, 1, 1], "params": [1.0, 3.0, 3.0, 3.0]}, r"run 0: needs at least 2 points on its training curve, got 1"),
        ({"tokens": [1.0, 1.0, 1.0, 2.0]}, r"run 0: repeated tokens value"),
        ({"tokens": [1.0, -2.0, 1.0, 2.0]}, r"tokens\[1\] = " + NUM(r"-2\.0") + " is not positive"),
        ({"loss": [3.0, np.nan, 3.0, 2.0]}, r"loss\[1\] = " + NUM("nan") + " is not finite"),
        ({"loss": [3.0, 2.0, 3.0]}, r"length mismatch: run has 4 values but loss has 3"),
        ({"n_grid": 1}, r"n_grid = 1 must be at least 2"),
        ({"n_grid": 0}, r"n_grid = 0 must be at least 1"),
    ],
)
def test_bad_inputs(kwargs, message):
    args = {"run": [0, 0, 1, 1], "params": [1.0, 1.0, 3.0, 3.0],
            "tokens": [1.0, 2.0, 1.0, 2.0], "loss": [3.0, 2.5, 2.8, 2.4], "n_grid": 10}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        loss_envelope(**args)


def test_fit_bad_inputs():
    run, params, tokens, loss = law_curves(per_decade=2, n_points=20)
    with pytest.raises(ValueError, match=r"flops_range = \(1e\+22, 1e\+20\) must be two numbers \(lo, hi\) with lo < hi"):
        fit_approach1(run, params, tokens, loss, flops_range=(1e22, 1e20))
    with pytest.raises(ValueError, match=r"flops_range\[0\] = " + NUM(r"-1\.0") + " is not positive"):
        fit_approach1(run, params, tokens, loss, flops_range=(-1.0, 1e20))
    with pytest.raises(ValueError, match=r"come from 1 model size\(s\); need at least 2"):
        # both runs span C = 6..12 and run 1 is lower everywhere: one size on the whole envelope
        fit_approach1([0, 0, 1, 1], [1.0, 1.0, 2.0, 2.0], [1.0, 2.0, 0.5, 1.0],
                      [3.0, 2.5, 1.0, 0.5], n_grid=10)
