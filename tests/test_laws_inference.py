"""The inference-aware optimum of Sardana et al. 2024 and the compute-optimal model for a loss."""

import numpy as np
import pytest

from smallest_loss.laws import BESIROGLU2024, HOFFMANN2022, ChinchillaLaw, compute_optimal_allocation
from smallest_loss.laws.inference import compute_optimal_for_loss, inference_optimal

LOSSES = np.array([1.9, 2.0, 2.2, 2.6])


@pytest.mark.parametrize("law", [HOFFMANN2022, BESIROGLU2024])
def test_compute_optimal_for_loss_is_the_allocation_at_its_budget(law):
    alloc = compute_optimal_for_loss(law, LOSSES)
    again = compute_optimal_allocation(law, alloc.flops)
    np.testing.assert_allclose(again.params, alloc.params, rtol=1e-10)
    np.testing.assert_allclose(again.tokens, alloc.tokens, rtol=1e-10)
    np.testing.assert_allclose(again.loss, LOSSES, rtol=1e-12)
    np.testing.assert_allclose(law.loss(alloc.params, alloc.tokens), LOSSES, rtol=1e-12)


def test_no_inference_is_the_compute_optimal_model():
    alloc = compute_optimal_for_loss(HOFFMANN2022, LOSSES)
    res = inference_optimal(HOFFMANN2022, LOSSES, 0.0)
    np.testing.assert_allclose(res.params, alloc.params, rtol=1e-12)
    np.testing.assert_allclose(res.tokens, alloc.tokens, rtol=1e-12)
    np.testing.assert_allclose(res.training_flops, alloc.flops, rtol=1e-12)
    assert np.all(res.inference_flops == 0) and np.all(res.total_flops == res.training_flops)
    # a vanishing demand converges to the same model through the bisection branch
    tiny = inference_optimal(HOFFMANN2022, LOSSES, 1e-6)
    np.testing.assert_allclose(tiny.params, alloc.params, rtol=1e-9)


def test_more_inference_means_smaller_models_trained_longer():
    demand = np.array([0.0, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15])
    res = inference_optimal(HOFFMANN2022, 2.0, demand)
    assert np.all(np.diff(res.params) < 0)
    assert np.all(np.diff(res.tokens_per_param) > 0)
    assert np.all(np.diff(res.total_flops) > 0)
    np.testing.assert_allclose(HOFFMANN2022.loss(res.params, res.tokens), 2.0, rtol=1e-12)
    np.testing.assert_allclose(res.inference_flops, 2.0 * res.params * demand, rtol=1e-15)


@pytest.mark.parametrize("demand", [1e9, 1e12, 1e14])
def test_kkt_condition_and_no_cheaper_neighbour(demand):
    law = HOFFMANN2022
    res = inference_optimal(law, 2.1, demand)
    n, d = float(res.params), float(res.tokens)
    x, y = law.A * n ** -law.alpha, law.B * d ** -law.beta
    # stationarity of the Lagrangian: alpha x / (beta y) = 1 + T / (3 D)
    assert law.alpha * x / (law.beta * y) == pytest.approx(1.0 + demand / (3.0 * d), rel=1e-9)
    # brute force along the iso-loss curve: no neighbour is cheaper
    grid = n * np.exp(np.linspace(-0.2, 0.2, 4001))
    rest = 2.1 - law.E - law.A * grid ** -law.alpha
    tokens = (law.B / rest) ** (1.0 / law.beta)
    cost = 6.0 * grid * tokens + 2.0 * grid * demand
    assert float(res.total_flops) <= cost.min() * (1 + 1e-12)
    assert abs(np.log(grid[np.argmin(cost)] / n)) < 2e-4


def test_recovers_the_tokens_per_param_of_a_synthetic_law():
    # alpha = beta and A = B: the compute-optimal model has D = N for every loss
    law = ChinchillaLaw(E=1.0, A=100.0, B=100.0, alpha=0.3, beta=0.3)
    res = inference_optimal(law, [1.5, 2.0], 0.0)
    np.testing.assert_allclose(res.tokens_per_param, 1.0, rtol=1e-12)


def test_broadcasting_shapes():
    res = inference_optimal(HOFFMANN2022, LOSSES[:, None], np.array([0.0, 1e12]))
    assert res.params.shape == (4, 2) and res.total_flops.shape == (4, 2)
    assert np.ndim(inference_optimal(HOFFMANN2022, 2.0, 1e12).params) == 0


@pytest.mark.parametrize("loss, demand, message", [
    (1.69, 0.0, "loss = 1.69 is not above the law's irreducible loss E = 1.69337"),
    (1.0, 0.0, "loss = 1.0 is not above"),
    (np.nan, 0.0, "loss = nan is not above"),
    ([2.0, 1.5], 0.0, "loss[1] = 1.5"),
    (2.0, -1.0, "inference_tokens = -1.0 is not a finite number >= 0"),
    (2.0, np.inf, "inference_tokens = inf"),
    ("abc", 0.0, "loss: not numeric"),
])
def test_bad_input(loss, demand, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        inference_optimal(HOFFMANN2022, loss, demand)


def test_bad_law_and_bad_loss_for_compute_optimal():
    with pytest.raises(ValueError, match="law: expected a ChinchillaLaw"):
        inference_optimal({"E": 1.0}, 2.0, 0.0)
    with pytest.raises(ValueError, match="loss = 1.5 is not above"):
        compute_optimal_for_loss(HOFFMANN2022, 1.5)
