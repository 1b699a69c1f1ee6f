"""Besiroglu et al.'s (2024) Huber likelihood (smallest_loss.fit.likelihood): checked against the
log-likelihoods their notebook prints, against finite differences, and on synthetic data."""

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad

from smallest_loss.fit import likelihood

DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / "data"


def _synthetic(n=60, seed=0, scale=0.01):
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), n))
    D = np.exp(rng.uniform(np.log(1e9), np.log(1e11), n))
    L = (1.8 + 480 * N ** -0.35 + 2100 * D ** -0.37) * np.exp(scale * rng.laplace(size=n))
    return N, D, L


def test_normaliser_integrates_the_density():
    for delta in (1e-3, 0.5, 2.0):
        core, _ = quad(lambda x: np.exp(-0.5 * x * x), -delta, delta)
        tail, _ = quad(lambda x: np.exp(-delta * (x - 0.5 * delta)), delta, np.inf)
        z = core + 2 * tail
        assert likelihood.huber_log_normaliser(delta) == pytest.approx(np.log(z), rel=1e-6)


def test_reproduces_the_log_likelihoods_besiroglu_print():
    # epoch-research/analyzing-chinchilla data_analysis.ipynb prints 879.77 (their fit), 837.78
    # (Hoffmann unrounded) and 562.25 (Hoffmann printed) on the 240 digitized points.
    import smallest_loss as sl

    points = sl.datasets.load_chinchilla()
    runs = points[~points.besiroglu_excluded]
    logs = np.log(runs.params.to_numpy()), np.log(runs.tokens.to_numpy()), np.log(runs.loss.to_numpy())
    printed = pd.read_csv(DATA / "besiroglu2024_likelihood.csv")
    for row in printed.itertuples():
        theta = [row.log_A, row.log_B, row.log_E, row.alpha, row.beta, row.log_scale]
        ll, _ = likelihood.huber_log_likelihood(theta, *logs)
        assert ll == pytest.approx(row.log_likelihood, abs=0.006), row.constants


def test_gradient_matches_finite_differences():
    N, D, L = _synthetic()
    logs = np.log(N), np.log(D), np.log(L)
    theta = np.array([6.1, 7.7, 0.6, 0.34, 0.37, np.log(0.5)])  # a scale where core and tails both occur
    _, g = likelihood.huber_log_likelihood(theta, *logs, delta=1.0)
    eps = 1e-6
    for k in range(6):
        up, dn = theta.copy(), theta.copy()
        up[k] += eps
        dn[k] -= eps
        fd = (likelihood.huber_log_likelihood(up, *logs, delta=1.0)[0]
              - likelihood.huber_log_likelihood(dn, *logs, delta=1.0)[0]) / (2 * eps)
        assert g[k] == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_recovers_a_known_law_and_scale():
    N, D, L = _synthetic(n=400, seed=1, scale=0.002)
    start = np.array([[np.log(400), np.log(1500), np.log(1.7), 0.3, 0.3]])
    fit = likelihood.fit_huber_likelihood(N, D, L, starts=start)
    assert fit.alpha == pytest.approx(0.35, abs=0.02)
    assert fit.beta == pytest.approx(0.37, abs=0.02)
    assert fit.E == pytest.approx(1.8, abs=0.02)
    # Laplace residuals of scale b: the linear-regime scale is delta * mean|r| = delta * b.
    assert fit.scale == pytest.approx(1e-3 * 0.002, rel=0.15)
    assert fit.log_likelihood >= fit.start_log_likelihood.max() - 1e-9


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(starts=np.zeros((1, 4))), "starts: expected shape"),
        (dict(starts=np.zeros((1, 5)), delta=0.0), "delta"),
        (dict(starts=np.full((1, 5), np.nan)), "starts"),
    ],
)
def test_bad_arguments_raise_one_line(kwargs, message):
    N, D, L = _synthetic(n=20)
    with pytest.raises(ValueError, match=message) as err:
        likelihood.fit_huber_likelihood(N, D, L, **kwargs)
    assert "\n" not in str(err.value)


def test_bad_runs_raise_one_line():
    N, D, L = _synthetic(n=20)
    L[3] = -1.0
    with pytest.raises(ValueError, match=r"loss\[3\]"):
        likelihood.fit_huber_likelihood(N, D, L, starts=np.zeros((1, 5)))
    with pytest.raises(ValueError, match="need at least 7"):
        likelihood.fit_huber_likelihood(N[:5], D[:5], np.abs(L[:5]) + 3, starts=np.zeros((1, 5)))
    with pytest.raises(ValueError, match="theta: expected shape"):
        likelihood.huber_log_likelihood(np.zeros(5), np.log(N), np.log(D), np.log(np.abs(L) + 3))


def test_profile_scale_reproduces_besiroglus_scales():
    # Their notebook fits only the scale for Hoffmann's constants: log s = -12.0916 (unrounded)
    # and -10.9436 (printed), log-likelihoods 837.78 and 562.25.
    import smallest_loss as sl

    points = sl.datasets.load_chinchilla()
    runs = points[~points.besiroglu_excluded]
    logs = np.log(runs.params.to_numpy()), np.log(runs.tokens.to_numpy()), np.log(runs.loss.to_numpy())
    printed = pd.read_csv(DATA / "besiroglu2024_likelihood.csv").iloc[1:]
    for row in printed.itertuples():
        sigma, ll = likelihood.profile_scale([row.log_A, row.log_B, row.log_E, row.alpha, row.beta], *logs)
        assert sigma == pytest.approx(row.log_scale, abs=2e-3)
        assert ll == pytest.approx(row.log_likelihood, abs=0.006)
