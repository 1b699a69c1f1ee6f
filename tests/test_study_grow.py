"""Function-preserving width growth of the study's GPT (Net2Net-style neuron splitting): the grown
model computes the same loss, its counts follow the library's counting, and a grown run is the
static run up to the growth and then a run of the doubled model whose FLOPs add up phase by phase."""

import math
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")

from smallest_loss.counting import count_params, training_flops  # noqa: E402
from smallest_loss.study import MarkovSource, RunSpec, train_run  # noqa: E402
from smallest_loss.study.grow import (  # noqa: E402
    grow_step_for_flops, grown_flops, train_grown, wide_spec, widen)
from smallest_loss.study.model import GPT, model_shape, param_counts  # noqa: E402


def trained_model(n_layer=2, d_model=16, n_heads=2, n_ctx=16, seed=0):
    """A GPT whose weights are not at their initial values (LayerNorm weights included)."""
    torch.manual_seed(seed)
    m = GPT(model_shape(n_layer, d_model, n_heads, 32, n_ctx))
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m


@pytest.mark.parametrize("noise", [0.0, 1e-3, 1e-2])
def test_widening_preserves_the_function(noise):
    src = MarkovSource()
    m = trained_model()
    xy = torch.from_numpy(src.validation(16, 16))
    big = widen(m, noise=noise, seed=1)
    with torch.no_grad():
        small_logits, big_logits = m(xy[:, :-1]), big(xy[:, :-1])
    assert torch.allclose(small_logits, big_logits, rtol=0, atol=2e-5)
    f = torch.nn.functional.cross_entropy
    loss_s = f(small_logits.reshape(-1, 32), xy[:, 1:].reshape(-1))
    loss_b = f(big_logits.reshape(-1, 32), xy[:, 1:].reshape(-1))
    assert abs(float(loss_s - loss_b)) < 1e-5


def test_widening_doubles_width_and_heads_and_matches_the_counting_module():
    m = trained_model(n_layer=3, d_model=24, n_heads=3)
    big = widen(m)
    s = big.shape
    assert (s.n_layer, s.d_model, s.n_heads, s.d_head) == (3, 48, 6, 8)
    assert sum(p.numel() for p in big.parameters()) == count_params(s).total == param_counts(s)[0]
    # non-embedding parameters grow by 4 (matrices) and 2 (norms): 12 L d^2 -> 12 L (2d)^2
    assert param_counts(s)[1] == 12 * 3 * 48**2 + (2 * 3 + 1) * 48


def test_noise_breaks_the_symmetry_between_copies():
    m = trained_model()
    d = m.shape.d_model
    exact, noisy = widen(m, noise=0.0), widen(m, noise=1e-3, seed=2)
    w0, w1 = exact.blocks[0].fc.weight, noisy.blocks[0].fc.weight
    assert torch.equal(w0[:, : d], w0[:, d:])              # exact copies: identical halves
    assert not torch.equal(w1[:, : d], w1[:, d:])
    assert float((w1 - w0).detach().abs().max()) < 1e-2
    with pytest.raises(ValueError, match="noise"):
        widen(m, noise=-1.0)


def micro(**kw):
    base = dict(name="g", corpus="synthetic", budget=1e8, n_layer=1, d_model=16, n_heads=2, vocab_size=32,
                n_ctx=16, batch=8, steps=30, lr=3e-3, n_eval=3, eval_seqs=16)
    return RunSpec(**(base | kw))


def test_flops_are_counted_phase_by_phase():
    spec = micro(steps=100)
    big = wide_spec(spec)
    assert (big.d_model, big.n_heads, big.n_layer) == (32, 4, 1)
    t = spec.tokens_per_step
    assert grown_flops(spec, 40) == pytest.approx(
        float(training_flops(spec.params, 40 * t)) + float(training_flops(big.params, 60 * t)), rel=1e-15)
    assert grown_flops(spec, 100) == spec.flops and grown_flops(spec, 0) == big.flops
    g, total = grow_step_for_flops(spec, 5e8, 0.5)
    assert g == round(0.5 * 5e8 / (6 * spec.params * t))
    assert abs(grown_flops(replace(spec, steps=total), g) / 5e8 - 1) < 0.02
    with pytest.raises(ValueError, match="fraction_before"):
        grow_step_for_flops(spec, 5e8, 1.0)
    with pytest.raises(ValueError, match="grow_step"):
        grown_flops(spec, 101)


def test_a_grown_run_keeps_its_loss_at_the_growth_and_matches_the_static_run_before():
    src = MarkovSource()
    spec = micro(steps=30, n_eval=3)
    out = train_grown(spec, 12, src)
    row = out["row"]
    assert abs(row["loss_after_growth"] - row["loss_before_growth"]) < 1e-5
    # up to the growth it is the static run: same seed, batches and schedule
    static = train_run(replace(spec, steps=30, n_eval=3), src)
    first = [p for p in out["curve"] if p["step"] <= 12]
    assert first and all(p["loss"] == q["loss"] for p, q in zip(first, static["curve"]))
    assert row["flops"] == grown_flops(spec, 12)
    assert (row["params_small"], row["params_large"]) == (spec.params, wide_spec(spec).params)
    assert out["curve"][-1]["params"] == row["params_large"] and math.isfinite(row["loss"])
    assert row["loss"] < out["curve"][0]["loss"]           # it learns
    assert train_grown(spec, 12, src)["row"]["loss"] == row["loss"]   # deterministic
    with pytest.raises(ValueError, match="grow_step"):
        train_grown(spec, 30, src)
