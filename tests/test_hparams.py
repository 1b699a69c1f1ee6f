"""Optimal learning rate / batch estimators, power laws, the Step Law procedure, the critical-batch
fit, the published hyperparameter laws and the multi-power law."""

import numpy as np
import pytest

from smallest_loss.fit import hparams as hp
from smallest_loss.fit import schedules as sc
from smallest_loss.laws import hparams as hl


def synthetic_sweep(seed=0, noise=0.001, p=-0.7, q=0.3, bp=0.0, bq=0.55, offset=0.0):
    rng = np.random.default_rng(seed)
    rows = []
    for n in (1e8, 3e8, 1e9):
        for d in (2e9, 8e9, 3e10):
            lr0 = 3.0 * n ** p * d ** q
            b0 = 0.5 * n ** bp * d ** bq
            for lr in lr0 * 2.0 ** (np.arange(-3, 3.5, 0.5) + offset):
                for b in b0 * 2.0 ** (np.arange(-2, 3) + offset):
                    loss = 2 + 0.05 * np.log(lr / lr0) ** 2 + 0.02 * np.log(b / b0) ** 2
                    rows.append((n, d, lr, b, loss + rng.normal(0, noise)))
    return np.array(rows).T


@pytest.mark.parametrize("offset", [0.0, 0.23])
def test_local_estimator_recovers_exponents(offset):
    n, d, lr, b, loss = synthetic_sweep(offset=offset)
    fit = hp.fit_hparams(n, d, lr, loss, b)
    assert fit.lr.params_exponent == pytest.approx(-0.7, abs=0.05)
    assert fit.lr.tokens_exponent == pytest.approx(0.3, abs=0.05)
    assert fit.batch.params_exponent == pytest.approx(0.0, abs=0.05)
    assert fit.batch.tokens_exponent == pytest.approx(0.55, abs=0.05)
    assert not fit.cells.lr_edge.any()


def test_edge_is_flagged_and_not_extrapolated():
    x = np.log([1e-4, 2e-4, 4e-4])
    xo, edge = hp.profile_optimum(x, [3.0, 2.9, 2.8])
    assert edge and xo == pytest.approx(x[-1])
    xo, edge = hp.profile_optimum(x, [3.0, 2.7, 2.9])
    assert not edge and x[0] <= xo <= x[2]


def test_parabola_vertex_exact():
    x = np.log(2.0 ** np.arange(-12, -6, 0.5))
    y = 2 + 0.1 * (x - np.log(2 ** -9.2)) ** 2
    xo, _ = hp.profile_optimum(x, y, "local")
    assert xo == pytest.approx(np.log(2 ** -9.2), abs=1e-9)
    xo, _ = hp.profile_optimum(x, y, "parabola")
    assert xo == pytest.approx(np.log(2 ** -9.2), abs=1e-9)


def test_bootstrap_intervals_cover_truth():
    n, d, lr, b, loss = synthetic_sweep(noise=0.002)
    fit = hp.fit_hparams(n, d, lr, loss, b, bootstrap=30, seed=3)
    lo, hi = fit.interval("lr")["tokens_exponent"]
    assert lo < fit.lr.tokens_exponent < hi and fit.n_failed == 0
    assert fit.se("lr")["params_exponent"] > 0


@pytest.mark.parametrize("bad,match", [
    ({"params": [1e8, -1, 1e8]}, r"params\[1\] = -1.0 is not positive"),
    ({"loss": [2.0, float("nan"), 2.0]}, r"loss\[1\] = nan is NaN"),
    ({"estimator": "best"}, r"estimator = 'best'"),
])
def test_bad_input_one_line(bad, match):
    args = {"params": [1e8, 2e8, 3e8], "tokens": [1e9, 2e9, 3e9], "lr": [1e-3, 2e-3, 3e-3],
            "loss": [2.0, 2.1, 2.2], "estimator": "local"}
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        hp.fit_hparams(**args)


def test_too_few_cells_and_collinear():
    with pytest.raises(ValueError, match="at least 3 .* cells, got 2"):
        hp.fit_hparams([1e8] * 3 + [2e8] * 3, [1e9] * 3 + [2e9] * 3, [1e-3, 2e-3, 4e-3] * 2,
                       [2.1, 2.0, 2.2] * 2)
    with pytest.raises(ValueError, match="do not vary params and tokens independently"):
        n = [1e8] * 3 + [2e8] * 3 + [4e8] * 3
        hp.fit_hparams(n, n, [1e-3, 2e-3, 4e-3] * 3, [2.1, 2.0, 2.2] * 3)


def test_steplaw_procedure_on_exact_law():
    n, d, lr, b, loss = synthetic_sweep(noise=0.0)
    out = hp.steplaw_procedure(n, d, lr, b, loss, threshold=1e-6, bootstrap=20)
    assert out["lr"].params_exponent == pytest.approx(-0.7, abs=1e-6)
    assert out["batch"].tokens_exponent == pytest.approx(0.55, abs=1e-6)


def test_critical_batch_fit_recovers():
    b = 2.0 ** np.arange(6, 15)
    s = 1300 * (1 + 2200 / b)
    f = hp.fit_critical_batch(b, s)
    assert f.s_min == pytest.approx(1300, rel=1e-6) and f.b_crit == pytest.approx(2200, rel=1e-6)
    assert f.e_min == pytest.approx(1300 * 2200, rel=1e-6)
    assert f.batch_at_overhead(0.2) == pytest.approx(440, rel=1e-6)
    with pytest.raises(ValueError, match="at least 3 distinct batch sizes"):
        hp.fit_critical_batch([64, 128], [10, 5])


def test_published_laws():
    assert hl.steplaw_lr(1e9, 1e11) == pytest.approx(1.79 * 1e9 ** -0.713 * 1e11 ** 0.307)
    assert hl.steplaw_batch(1e11) == pytest.approx(0.58 * 1e11 ** 0.571)
    assert hl.deepseek_lr(1e20) == pytest.approx(0.3118 * 1e20 ** -0.125)
    assert hl.deepseek_batch(1e20) == pytest.approx(0.2920 * 1e20 ** 0.3271)
    # M = 72 n d^2 + 12 n d l when N = 12 n d^2
    n_layer, d = 24, 1024
    assert hl.deepseek_flops_per_token(12 * n_layer * d ** 2, n_layer, d, 2048) == pytest.approx(
        72 * n_layer * d ** 2 + 12 * n_layer * d * 2048)
    assert hl.examples_to_target(100.0, 10.0, 100.0) == pytest.approx(2 * 10 * 100)
    with pytest.raises(ValueError, match="tokens"):
        hl.steplaw_batch(-1)


def test_multipower_law_constant_schedule_is_power_law():
    step = np.arange(2176, 24000, 128)
    curve = sc.Curve.make(step, np.full(len(step), 3e-4), lr_peak=3e-4)
    law = sc.MultiPowerLaw(2.5, 0.6, 0.45, 500, 1.0, 0.5, 0.5)
    area = 3e-4 * (step - 2160) + 3e-4 * 2160 / 2
    assert np.allclose(law(curve), 2.5 + 0.6 * area ** -0.45)


def test_multipower_law_fit_recovers_curves():
    law = sc.MultiPowerLaw(2.5, 0.6, 0.45, 500, 1.0, 0.5, 0.5)
    step = np.arange(2176, 16000, 128)
    lr_const = np.full(len(step), 3e-4)
    lr_drop = np.where(step < 8000, 3e-4, 9e-5)
    lr_drop2 = np.where(step < 8000, 3e-4, 3e-5)
    lr_cos = 3e-5 + 0.5 * (3e-4 - 3e-5) * (1 + np.cos(np.pi * (step - 2160) / (16000 - 2160)))
    curves = [sc.Curve.make(step, r, lr_peak=3e-4) for r in (lr_const, lr_drop, lr_drop2, lr_cos)]
    truth = [law(c) for c in curves]
    fitted = sc.fit_multipower([sc.Curve.make(c.step, c.lr, t, lr_peak=3e-4)
                                for c, t in zip(curves[:3], truth[:3])], starts=4)
    assert np.max(np.abs(fitted(curves[3]) - truth[3])) < 0.01
    with pytest.raises(ValueError, match="does not increase"):
        sc.Curve.make([3000, 2500], [1e-4, 1e-4])


def test_zhang2025_critical_batch_is_their_root():
    # their notebook solves b - 5 a cbs + 5 a 1.2 256 = 0 with b / a = B_noise
    a, b = 1300.0, 1300.0 * 2200.0
    cbs = hp.zhang2025_critical_batch(b / a)
    assert b - 5 * a * cbs + 5 * a * 1.2 * 256 == pytest.approx(0.0, abs=1e-6)
    assert cbs == pytest.approx(440 + 307.2)
    with pytest.raises(ValueError, match=r"b_noise = -1"):
        hp.zhang2025_critical_batch(-1.0)


def test_compute_multiplier():
    # a penalty of one slope's worth costs e times the compute; zero costs nothing; sign of slope ignored
    assert hp.compute_multiplier(0.09, -0.09) == pytest.approx(np.e)
    assert hp.compute_multiplier([0.0, 0.18], 0.09) == pytest.approx([1.0, np.e ** 2])
    with pytest.raises(ValueError, match="penalty"):
        hp.compute_multiplier(-0.01, -0.09)
    with pytest.raises(ValueError, match="slope = 0"):
        hp.compute_multiplier(0.01, 0)


def test_steps_to_reach():
    step = np.arange(100, 1100, 100)
    loss = np.linspace(3.0, 2.1, 10)
    assert sc.steps_to_reach(step, loss, 2.45, window=1) == 700
    # a single noisy low sample does not count on the running median
    spiky = loss.copy()
    spiky[1] = 2.0
    assert sc.steps_to_reach(step, spiky, 2.45, window=5) == 700
    assert np.isnan(sc.steps_to_reach(step, loss, 1.0))
    with pytest.raises(ValueError, match="does not increase"):
        sc.steps_to_reach([2, 1], [3.0, 2.0], 2.5)
    with pytest.raises(ValueError, match="window = 0"):
        sc.steps_to_reach(step, loss, 2.5, window=0)
