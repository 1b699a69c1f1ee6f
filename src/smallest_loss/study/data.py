"""Token sources of the study: tinyshakespeare (characters) and a synthetic Markov source whose
entropy rate is known exactly.

Both give integer tokens and two things to a training run: ``train_batch(rng, batch, n_ctx)``, a
``[batch, n_ctx + 1]`` int64 array drawn with a numpy ``Generator`` (so the data a run sees
depend on its seed only, never on the device or on where it runs), and ``validation(n_seqs,
n_ctx)``, a fixed held-out ``[n_seqs, n_ctx + 1]`` array, the same for every run of a study.

* :class:`CharCorpus` -- tinyshakespeare (Karpathy's char-rnn corpus, 1,115,394 characters, MIT)
  read through :func:`smallest_loss.datasets.registry.fetch`, encoded one token per character (65 distinct
  characters, sorted), split once: the first 90% trains, the last 10% validates (the split of
  nanoGPT's ``shakespeare_char``). Training windows start anywhere in the training part (with
  replacement), so a budget larger than the training split repeats data: the run's
  ``epochs`` column says how many times.
* :class:`MarkovSource` -- an order-``k`` Markov chain over ``V`` symbols (default ``k = 2``,
  ``V = 32``), its transition rows drawn with a seed as a hierarchy, like a Bayesian n-gram prior:
  order-1 rows ``P(.|b) ~ Dirichlet(alpha)``, then each longer context's row
  ``P(.|a,b) ~ Dirichlet(concentration * P(.|b))`` scattered around the row of its suffix. The
  last symbol alone then predicts much (a model learns that first), the one before it refines the
  prediction (learnt later, with more parameters and data). Training sequences are generated on the fly
  (never repeated); each starts in the chain's stationary distribution. Its entropy rate
  ``H = sum_s pi(s) H(P(.|s))`` over the ``V^k`` contexts is computed exactly from the stationary
  distribution ``pi`` (:meth:`MarkovSource.entropy_rate`), and so is the Bayes loss of a window of
  ``n_ctx`` predictions, whose first ``k - 1`` targets see less than ``k`` symbols of context
  (:meth:`MarkovSource.bayes_loss`): the loss no model can beat, the truth that a fitted E is
  checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

__all__ = ["CharCorpus", "MarkovSource", "load_source", "CORPORA", "TRAIN_FRACTION"]

CORPORA = ("shakespeare", "synthetic")
TRAIN_FRACTION = 0.9
"""Share of tinyshakespeare used for training; the rest (the end of the file) is validation."""


def _check_shape(n: int, n_ctx: int, name: str) -> None:
    if int(n) < 1 or int(n_ctx) < 1:
        raise ValueError(f"{name} = {n} and n_ctx = {n_ctx} must be positive integers")


@dataclass(frozen=True, eq=False)
class CharCorpus:
    """A character-level corpus with a fixed train/validation split. ``vocab``: the sorted distinct
    characters; ``train``, ``val``: uint8 token arrays."""

    name: str
    vocab: str
    train: np.ndarray = field(repr=False)
    val: np.ndarray = field(repr=False)

    @classmethod
    def from_text(cls, name: str, text: str, train_fraction: float = TRAIN_FRACTION) -> "CharCorpus":
        if not 0 < train_fraction < 1:
            raise ValueError(f"train_fraction = {train_fraction!r} must lie strictly between 0 and 1")
        vocab = "".join(sorted(set(text)))
        if len(vocab) > 255:
            raise ValueError(f"{name}: {len(vocab)} distinct characters, more than the 255 supported")
        lut = {c: i for i, c in enumerate(vocab)}
        tokens = np.fromiter((lut[c] for c in text), dtype=np.uint8, count=len(text))
        cut = int(len(tokens) * train_fraction)
        return cls(name=name, vocab=vocab, train=tokens[:cut], val=tokens[cut:])

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def train_tokens(self) -> int:
        """Tokens in the training split (one epoch)."""
        return int(self.train.size)

    def describe(self) -> dict:
        return {"corpus": self.name, "vocab_size": self.vocab_size, "train_tokens": self.train_tokens,
                "val_tokens": int(self.val.size), "train_fraction": TRAIN_FRACTION}

    def train_batch(self, rng: np.random.Generator, batch: int, n_ctx: int) -> np.ndarray:
        """``batch`` windows of ``n_ctx + 1`` tokens starting at uniform random offsets of the training split."""
        _check_shape(batch, n_ctx, "batch")
        starts = rng.integers(0, self.train.size - n_ctx - 1, size=batch)
        return self.train[starts[:, None] + np.arange(n_ctx + 1)].astype(np.int64)

    def validation(self, n_seqs: int, n_ctx: int) -> np.ndarray:
        """``n_seqs`` windows of ``n_ctx + 1`` tokens at evenly spaced offsets of the validation split."""
        _check_shape(n_seqs, n_ctx, "n_seqs")
        if self.val.size < n_ctx + 1:
            raise ValueError(f"n_ctx = {n_ctx} is longer than the validation split ({self.val.size} tokens)")
        starts = np.linspace(0, self.val.size - n_ctx - 1, n_seqs).astype(np.int64)
        return self.val[starts[:, None] + np.arange(n_ctx + 1)].astype(np.int64)


def _entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy [nats] along ``axis``; 0 log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=axis)


@dataclass(frozen=True, eq=False)
class MarkovSource:
    """An order-``order`` Markov chain over ``vocab_size`` symbols, its rows drawn from ``seed`` with
    Dirichlet(``alpha``) at order 1 and Dirichlet(``concentration`` x the suffix's row) above (see
    the module docstring)."""

    vocab_size: int = 32
    order: int = 2
    alpha: float = 0.25
    concentration: float = 4.0
    seed: int = 0
    name: str = "synthetic"
    transition: np.ndarray = field(init=False, repr=False)  # [V^k, V]
    stationary: np.ndarray = field(init=False, repr=False)  # [V^k]: distribution of k consecutive symbols

    def __post_init__(self) -> None:
        v, k = self.vocab_size, self.order
        if not (isinstance(v, int) and 2 <= v <= 255):
            raise ValueError(f"vocab_size = {v!r} must be an integer from 2 to 255")
        if not (isinstance(k, int) and 1 <= k <= 4) or v**k > 2**16:
            raise ValueError(f"order = {k!r} must be an integer from 1 to 4 with vocab_size^order <= 65536")
        if not (np.isfinite(self.alpha) and self.alpha > 0):
            raise ValueError(f"alpha = {self.alpha!r} must be a finite positive number")
        if not (np.isfinite(self.concentration) and self.concentration > 0):
            raise ValueError(f"concentration = {self.concentration!r} must be a finite positive number")
        rng = np.random.default_rng(np.random.SeedSequence([int(self.seed), 0x5EED]))
        p = rng.dirichlet(np.full(v, float(self.alpha)), size=v)  # order 1: P(. | last symbol)
        for j in range(2, k + 1):  # order j: rows scattered around the order j-1 row of the shorter context
            base = np.tile(p, (v, 1))  # context (x_1..x_j) -> row of its suffix (x_2..x_j)
            p = np.array([rng.dirichlet(np.maximum(self.concentration * row, 1e-3)) for row in base])
        p = np.maximum(p, 1e-12)  # every transition possible: the chain is ergodic
        p /= p.sum(axis=1, keepdims=True)
        object.__setattr__(self, "transition", p)
        object.__setattr__(self, "stationary", self._stationary(p))

    def _stationary(self, p: np.ndarray) -> np.ndarray:
        """Stationary distribution of the context chain (state = last k symbols), by solving
        ``pi (T - I) = 0, sum pi = 1`` for its sparse transition matrix ``T`` exactly (LU)."""
        from scipy.sparse import csr_matrix, identity, vstack
        from scipy.sparse.linalg import spsolve

        v, k = self.vocab_size, self.order
        n = v**k
        s = np.repeat(np.arange(n), v)
        nxt = (s * v + np.tile(np.arange(v), n)) % n
        t = csr_matrix((p.ravel(), (s, nxt)), shape=(n, n))
        a = vstack([(t.T - identity(n, format="csr"))[1:], csr_matrix(np.ones((1, n)))]).tocsc()
        b = np.zeros(n)
        b[-1] = 1.0
        pi = spsolve(a, b)
        pi = np.maximum(pi, 0.0)
        return pi / pi.sum()

    def entropy_rate(self) -> float:
        """``H = sum_s pi(s) H(P(.|s))`` [nats/token]: the loss of the Bayes predictor with at least
        ``order`` symbols of context; exact up to floating-point rounding."""
        return float(self.stationary @ _entropy(self.transition))

    def conditional_entropies(self) -> np.ndarray:
        """``H(X_j | X_0..X_{j-1})`` for ``j = 0..order`` under the stationary chain [nats]; the last
        entry is the entropy rate."""
        v, k = self.vocab_size, self.order
        joint = self.stationary.reshape((v,) * k)
        h_prefix = [0.0] + [float(_entropy(joint.sum(axis=tuple(range(j, k))).ravel())) for j in range(1, k + 1)]
        out = [h_prefix[j + 1] - h_prefix[j] for j in range(k)]
        return np.array(out + [self.entropy_rate()])

    def bayes_loss(self, n_ctx: int) -> float:
        """Mean Bayes loss over the ``n_ctx`` targets of a window [nats/token]: target ``t`` (the symbol
        at position ``t + 1``) is predicted from ``t + 1`` symbols, so the first ``order - 1``
        targets have less than full context."""
        h = self.conditional_entropies()
        j = np.minimum(np.arange(1, n_ctx + 1), self.order)
        return float(h[j].mean())

    def describe(self) -> dict:
        return {"corpus": self.name, "vocab_size": self.vocab_size, "order": self.order, "alpha": self.alpha,
                "concentration": self.concentration, "source_seed": self.seed, "entropy_rate": self.entropy_rate(),
                "conditional_entropies": [float(h) for h in self.conditional_entropies()]}

    def sample(self, rng: np.random.Generator, n_seqs: int, length: int) -> np.ndarray:
        """``n_seqs`` independent stretches of ``length`` symbols of the stationary chain (int64)."""
        _check_shape(n_seqs, length, "n_seqs")
        v, k = self.vocab_size, self.order
        n = v**k
        cdf = np.cumsum(self.transition, axis=1)
        state = rng.choice(n, size=n_seqs, p=self.stationary)
        out = np.empty((n_seqs, max(length, k)), dtype=np.int64)
        for j in range(k):  # unpack the first k symbols from the context index
            out[:, j] = (state // v ** (k - 1 - j)) % v
        u = rng.random((n_seqs, max(length - k, 0)))
        for t in range(k, length):
            sym = np.minimum((u[:, t - k, None] > cdf[state]).sum(axis=1), v - 1)
            out[:, t] = sym
            state = (state * v + sym) % n
        return out[:, :length]

    def train_batch(self, rng: np.random.Generator, batch: int, n_ctx: int) -> np.ndarray:
        return self.sample(rng, batch, n_ctx + 1)

    def validation(self, n_seqs: int, n_ctx: int) -> np.ndarray:
        rng = np.random.default_rng(np.random.SeedSequence([int(self.seed), 0x7A11D]))
        return self.sample(rng, n_seqs, n_ctx + 1)


@lru_cache(maxsize=4)
def load_source(corpus: str, seed: int = 0) -> CharCorpus | MarkovSource:
    """The token source named ``corpus`` (one of ``CORPORA``). ``seed`` draws the synthetic
    chain (tinyshakespeare ignores it)."""
    if corpus == "shakespeare":
        from ..datasets import fetch

        text = fetch("tinyshakespeare/input.txt").read_text(encoding="utf-8")
        return CharCorpus.from_text("shakespeare", text)
    if corpus == "synthetic":
        return MarkovSource(seed=int(seed))
    raise ValueError(f"corpus = {corpus!r} is not one of {', '.join(CORPORA)}")
