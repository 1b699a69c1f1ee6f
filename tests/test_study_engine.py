"""The study's engine: model counts, token sources (the synthetic entropy rate against a Monte
Carlo estimate), schedule, evaluation steps, design, and determinism of one run."""

import math
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from smallest_loss.counting import count_params, embedding_params, positional_embedding_params  # noqa: E402
from smallest_loss.study import PRESETS, CharCorpus, MarkovSource, RunSpec, design, load_source, train_run  # noqa: E402
from smallest_loss.study.model import GPT, model_shape, param_counts  # noqa: E402
from smallest_loss.study.train import FINAL_LR_FRACTION, eval_steps, lr_at  # noqa: E402


@pytest.mark.parametrize("n_layer,d_model,n_heads,vocab,n_ctx", [(1, 16, 2, 65, 32), (3, 64, 4, 32, 64), (2, 48, 6, 65, 128)])
def test_model_parameters_match_the_counting_module(n_layer, d_model, n_heads, vocab, n_ctx):
    shape = model_shape(n_layer, d_model, n_heads, vocab, n_ctx)
    model = GPT(shape)
    total, non_embedding = param_counts(shape)
    assert sum(p.numel() for p in model.parameters()) == total
    emb = float(embedding_params(vocab, d_model)[()]) + float(positional_embedding_params(n_ctx, d_model)[()])
    assert total - non_embedding == emb
    # Kaplan's 12 n_layer d_model^2 plus the norms' d_model (2 n_layer + 1) weights
    assert non_embedding == 12 * n_layer * d_model**2 + (2 * n_layer + 1) * d_model
    assert count_params(shape).output == 0  # tied output layer
    logits = model(torch.zeros(2, n_ctx, dtype=torch.long))
    assert logits.shape == (2, n_ctx, vocab)


def test_model_shape_rejects_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match="n_heads = 3"):
        model_shape(2, 32, 3, 65, 16)


def test_schedule_warms_up_then_decays_to_a_tenth_at_the_last_step():
    steps, peak = 1000, 2e-3
    lrs = np.array([lr_at(s, steps, peak) for s in range(1, steps + 1)])
    warm = max(1, round(0.02 * steps))
    assert lrs[0] == pytest.approx(peak / warm)
    assert lrs[warm - 1] == pytest.approx(peak)
    assert lrs[-1] == pytest.approx(FINAL_LR_FRACTION * peak, rel=1e-12)
    assert np.all(np.diff(lrs[warm - 1:]) <= 0) and np.all(np.diff(lrs[:warm]) > 0)
    # matched to the run's budget: a run half as long reaches the same floor at its own end
    assert lr_at(500, 500, peak) == pytest.approx(FINAL_LR_FRACTION * peak, rel=1e-12)
    assert lr_at(1, 1, peak) == peak


def test_evaluation_steps_are_log_spaced_and_end_at_the_last_step():
    s = eval_steps(1000, 7)
    assert s[0] == 1 and s[-1] == 1000 and len(s) == 7
    ratios = np.diff(np.log(s))
    assert np.allclose(ratios, math.log(1000) / 6, atol=0.35)
    assert eval_steps(3, 8) == [1, 2, 3]
    assert eval_steps(1, 5) == [1]


def test_markov_source_entropy_rate_is_exact():
    src = MarkovSource(vocab_size=32, order=2, alpha=0.25, seed=0)
    pi, t = src.stationary, src.transition
    # pi is stationary for the context chain: mass flowing into each context equals its own
    v, n = 32, 32**2
    inflow = np.zeros(n)
    for sym in range(v):
        np.add.at(inflow, (np.arange(n) * v + sym) % n, pi * t[:, sym])
    assert np.allclose(inflow, pi, atol=1e-13)
    # Monte Carlo: the true chain's log-loss on fresh samples agrees within 4 standard errors
    x = src.sample(np.random.default_rng(1), 1000, 120)
    state = x[:, 0] * v + x[:, 1]
    losses = []
    for j in range(2, x.shape[1]):
        losses.append(-np.log(t[state, x[:, j]]))
        state = (state * v + x[:, j]) % n
    losses = np.concatenate(losses)
    se = losses.std() / math.sqrt(losses.size)
    assert abs(losses.mean() - src.entropy_rate()) < 4 * se
    h = src.conditional_entropies()
    assert h[0] <= math.log(v) + 1e-12 and h[0] >= h[1] >= h[2]
    assert src.bayes_loss(16) == pytest.approx((h[1] + 15 * h[2]) / 16)


def test_markov_source_order_one_has_the_textbook_entropy_rate():
    src = MarkovSource(vocab_size=3, order=1, alpha=1.0, seed=4)
    p = src.transition
    w, vecs = np.linalg.eig(p.T)
    pi = np.real(vecs[:, np.argmin(abs(w - 1))])
    pi /= pi.sum()
    assert src.entropy_rate() == pytest.approx(-(pi[:, None] * p * np.log(p)).sum(), rel=1e-12)


def test_markov_source_is_seeded():
    a, b, c = MarkovSource(seed=1), MarkovSource(seed=1), MarkovSource(seed=2)
    assert np.array_equal(a.validation(4, 16), b.validation(4, 16))
    assert a.entropy_rate() == b.entropy_rate() != c.entropy_rate()
    with pytest.raises(ValueError, match="alpha"):
        MarkovSource(alpha=0.0)


def test_shakespeare_split_and_vocabulary():
    src = load_source("shakespeare")
    assert isinstance(src, CharCorpus)
    assert src.vocab_size == 65
    assert src.train.size + src.val.size == 1_115_394
    assert src.train.size == int(1_115_394 * 0.9)
    assert "".join(src.vocab[i] for i in src.train[:14]) == "First Citizen:"
    v1, v2 = src.validation(8, 32), src.validation(8, 32)
    assert np.array_equal(v1, v2) and v1.shape == (8, 33)
    b1 = src.train_batch(np.random.default_rng(3), 4, 32)
    b2 = src.train_batch(np.random.default_rng(3), 4, 32)
    assert np.array_equal(b1, b2)
    with pytest.raises(ValueError, match="corpus"):
        load_source("wikitext")


def test_tiny_design_is_an_isoflop_grid():
    specs = design("tiny", "shakespeare")
    p = PRESETS["tiny"]
    assert len({s.name for s in specs}) == len(specs)
    for s in specs:
        assert s.flops == 6.0 * s.params * s.tokens
        assert abs(s.flops / s.budget - 1) < 0.02
        assert p.min_ratio <= s.tokens / s.params <= p.max_ratio and s.steps >= p.min_steps
    for budget in p.budgets:
        assert sum(s.budget == budget for s in specs) >= 3
    with pytest.raises(ValueError, match="preset"):
        design("huge", "shakespeare")


def micro_spec(name="m", steps=40, **kw):
    return RunSpec(name=name, corpus="synthetic", budget=1e8, n_layer=1, d_model=16, n_heads=2, vocab_size=32,
                   n_ctx=16, batch=8, steps=steps, lr=3e-3, n_eval=4, eval_seqs=16, **kw)


def test_a_run_is_deterministic_and_learns():
    src = load_source("shakespeare")
    spec = replace(micro_spec(steps=60), corpus="shakespeare", vocab_size=65)
    a, b = train_run(spec, src), train_run(spec, src)
    assert a["row"]["loss"] == b["row"]["loss"]
    assert [p["loss"] for p in a["curve"]] == [p["loss"] for p in b["curve"]]
    losses = [p["loss"] for p in a["curve"]]
    assert losses[0] > math.log(65) - 0.2  # the first evaluation: about uniform over 65 characters
    assert losses[-1] < 3.5  # a unigram model of the text already reaches about 3.3 nats
    assert [p["step"] for p in a["curve"]] == eval_steps(60, 4)
    assert a["row"]["tokens"] == 60 * 8 * 16 and a["row"]["threads"] == 1 and a["row"]["device"] == "cpu"
    assert a["row"]["epochs"] == pytest.approx(60 * 8 * 16 / src.train.size)
    assert train_run(replace(spec, seed=1), src)["row"]["loss"] != a["row"]["loss"]


def test_no_run_beats_the_bayes_loss_of_the_synthetic_source():
    src = MarkovSource()
    out = train_run(micro_spec(steps=40), src)
    assert all(p["loss"] > src.bayes_loss(16) for p in out["curve"])
    assert out["row"]["epochs"] == 0.0  # fresh samples: never repeated


def test_a_run_rejects_a_vocabulary_that_does_not_match_its_source():
    with pytest.raises(ValueError, match="vocab_size"):
        train_run(replace(micro_spec(), vocab_size=65), MarkovSource())
    with pytest.raises(ValueError, match="steps"):
        micro_spec(steps=0)
