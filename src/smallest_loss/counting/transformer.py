"""Counting parameters and FLOPs of decoder-only transformers, under each paper's convention.

Conventions implemented (each formula once, cited):

* Kaplan et al. 2020 (Sec. 2.1, Table 1): non-embedding parameters
  ``N = 2 d_model n_layer (2 d_attn + d_ff)`` which is ``12 n_layer d_model^2`` for the standard
  shape (``d_attn = d_model``, ``d_ff = 4 d_model``); forward FLOPs per token
  ``C_forward = 2 N + 2 n_layer n_ctx d_attn``; training ``C ≈ 6 N`` per token.
* Hoffmann et al. 2022 (Appendix F): FLOPs of every matrix product of the forward pass, including
  embeddings, attention logits, softmax and output logits, with the backward pass counted as twice
  the forward pass.
* Exact parameter counts of a concrete architecture (:class:`TransformerShape`): learned or no
  positional embeddings, tied or untied output layer, biases, GELU or SwiGLU MLPs, grouped-query
  attention.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..validation import broadcast, positive_array, positive_int

__all__ = [
    "TransformerShape",
    "ParamCount",
    "FlopBreakdown",
    "training_flops",
    "training_tokens",
    "kaplan_non_embedding_params",
    "kaplan_non_embedding_params_approx",
    "embedding_params",
    "positional_embedding_params",
    "count_params",
    "chinchilla_shape",
    "chinchilla_params",
    "CHINCHILLA_VOCAB",
    "CHINCHILLA_SEQ_LEN",
    "kaplan_forward_flops_per_token",
    "kaplan_training_flops_per_token",
    "chinchilla_forward_flops",
    "chinchilla_training_flops",
]


def training_flops(params: ArrayLike, tokens: ArrayLike) -> NDArray[np.float64]:
    """Training compute ``C = 6 N D`` [FLOP] for ``N`` parameters trained on ``D`` tokens.

    Two FLOPs per parameter per token in the forward pass (one multiply, one add) and twice that
    in the backward pass (Kaplan et al. 2020, Sec. 2.1; Hoffmann et al. 2022, Sec. 3 and App. F).
    """
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    n, d = broadcast(params=n, tokens=d)
    return 6.0 * n * d


def training_tokens(params: ArrayLike, flops: ArrayLike) -> NDArray[np.float64]:
    """Tokens ``D = C / (6 N)`` that a budget of ``flops`` [FLOP] buys for a model of ``params``
    parameters: :func:`training_flops` solved for ``D``. [tokens]"""
    n = positive_array("params", params)
    c = positive_array("flops", flops)
    n, c = broadcast(params=n, flops=c)
    return c / (6.0 * n)


def kaplan_non_embedding_params(
    n_layer: ArrayLike, d_model: ArrayLike, d_attn: ArrayLike | None = None, d_ff: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Non-embedding parameters ``N = 2 d_model n_layer (2 d_attn + d_ff)`` (Kaplan et al. 2020, Eq. 2.1).

    Counts the attention (Q, K, V, output: ``4 d_model d_attn``) and MLP (``2 d_model d_ff``)
    weight matrices of every layer; biases, layer norms and embeddings are left out, as in the
    paper. Defaults ``d_attn = d_model`` and ``d_ff = 4 d_model``. [parameters]
    """
    nl = positive_array("n_layer", n_layer)
    dm = positive_array("d_model", d_model)
    da = dm if d_attn is None else positive_array("d_attn", d_attn)
    df = 4.0 * dm if d_ff is None else positive_array("d_ff", d_ff)
    nl, dm, da, df = broadcast(n_layer=nl, d_model=dm, d_attn=da, d_ff=df)
    return 2.0 * dm * nl * (2.0 * da + df)


def kaplan_non_embedding_params_approx(n_layer: ArrayLike, d_model: ArrayLike) -> NDArray[np.float64]:
    """``N ≈ 12 n_layer d_model^2`` (Kaplan et al. 2020, Eq. 2.1 with d_attn = d_ff/4 = d_model). [parameters]"""
    nl = positive_array("n_layer", n_layer)
    dm = positive_array("d_model", d_model)
    nl, dm = broadcast(n_layer=nl, d_model=dm)
    return 12.0 * nl * dm**2


def embedding_params(vocab_size: ArrayLike, d_model: ArrayLike) -> NDArray[np.float64]:
    """Token-embedding parameters ``n_vocab d_model`` (Kaplan et al. 2020, Table 1). [parameters]"""
    v = positive_array("vocab_size", vocab_size)
    dm = positive_array("d_model", d_model)
    v, dm = broadcast(vocab_size=v, d_model=dm)
    return v * dm


def positional_embedding_params(n_ctx: ArrayLike, d_model: ArrayLike) -> NDArray[np.float64]:
    """Learned positional-embedding parameters ``n_ctx d_model`` (Kaplan et al. 2020, Table 1). [parameters]"""
    c = positive_array("n_ctx", n_ctx)
    dm = positive_array("d_model", d_model)
    c, dm = broadcast(n_ctx=c, d_model=dm)
    return c * dm


@dataclass(frozen=True)
class TransformerShape:
    """The shape of a decoder-only transformer.

    n_layer: blocks; d_model: residual width; n_heads: query heads; d_head: per-head key/value
    size (Hoffmann et al. call it ``kv_size``); d_ff: MLP hidden width (``ffw_size``);
    vocab_size: tokens in the vocabulary; n_ctx: context (sequence) length in tokens.
    n_kv_heads: key/value heads (grouped-query attention; ``None`` means ``n_heads``);
    glu: gated MLP such as SwiGLU (three ``d_model x d_ff`` matrices instead of two);
    tied_embeddings: output layer shares the token embedding; learned_positions: a learned
    positional embedding (GPT-2) rather than relative/rotary positions (Gopher, Chinchilla, LLaMA);
    relative_positions: Transformer-XL style relative positions as in Gopher and Chinchilla (Rae et
    al. 2021), which add one ``d_model x d_attn`` projection of the position encodings per layer;
    bias: biases in linear layers; norm_bias: layer norms with a bias (LayerNorm) or without
    (RMSNorm, or LayerNorm(bias=False)).
    """

    n_layer: int
    d_model: int
    n_heads: int
    d_head: int
    d_ff: int
    vocab_size: int
    n_ctx: int
    n_kv_heads: int | None = None
    glu: bool = False
    tied_embeddings: bool = True
    learned_positions: bool = True
    relative_positions: bool = False
    bias: bool = True
    norm_bias: bool = True
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for f in ("n_layer", "d_model", "n_heads", "d_head", "d_ff", "vocab_size", "n_ctx"):
            positive_int(f, getattr(self, f))
        if self.n_kv_heads is not None:
            positive_int("n_kv_heads", self.n_kv_heads)
            if self.n_heads % self.n_kv_heads:
                raise ValueError(
                    f"n_kv_heads = {self.n_kv_heads} must divide n_heads = {self.n_heads}"
                )

    @property
    def d_attn(self) -> int:
        """Width of the concatenated attention heads, ``n_heads d_head``."""
        return self.n_heads * self.d_head

    @property
    def kv_heads(self) -> int:
        return self.n_heads if self.n_kv_heads is None else self.n_kv_heads


@dataclass(frozen=True)
class ParamCount:
    """Parameters of a :class:`TransformerShape`, by part [parameters].

    attention, mlp, norms: summed over layers (norms include the final one); embedding: token
    embedding; positional: learned absolute positions, or the per-layer relative-position
    projections; output: a separate (untied) output layer, 0 if tied.
    """

    attention: int
    mlp: int
    norms: int
    embedding: int
    positional: int
    output: int

    @property
    def non_embedding(self) -> int:
        """Attention + MLP + norm parameters: Kaplan's N plus biases and norms."""
        return self.attention + self.mlp + self.norms

    @property
    def total(self) -> int:
        """Every parameter, counted once (a tied output layer is not counted twice)."""
        return self.non_embedding + self.embedding + self.positional + self.output


def count_params(shape: TransformerShape) -> ParamCount:
    """Exact parameter count of ``shape``, by part. [parameters]

    Attention per layer: Q and output projections ``d_model d_attn`` each, K and V
    ``d_model kv_heads d_head`` each (grouped-query attention shares K/V across heads), plus
    biases if ``bias``. MLP per layer: 2 (3 with ``glu``) ``d_model d_ff`` matrices plus biases.
    Norms: two per layer and a final one, ``d_model`` weights (and as many biases if ``norm_bias``).

    Hoffmann et al.'s Table A9 sizes are reproduced (to the printed million) by
    :func:`chinchilla_shape`: weight matrices only, relative positions, untied-free token
    embedding with a 32,000 vocabulary: ``n_layer (5 d_model d_attn + 2 d_model d_ff) + V d_model``.
    """
    s = shape
    d_kv = s.kv_heads * s.d_head
    attn = 2 * s.d_model * s.d_attn + 2 * s.d_model * d_kv
    if s.bias:
        attn += s.d_attn + 2 * d_kv + s.d_model
    n_mats = 3 if s.glu else 2
    mlp = n_mats * s.d_model * s.d_ff
    if s.bias:
        mlp += (n_mats - 1) * s.d_ff + s.d_model
    per_norm = s.d_model * (2 if s.norm_bias else 1)
    norms = (2 * s.n_layer + 1) * per_norm
    emb = s.vocab_size * s.d_model
    pos = s.n_ctx * s.d_model if s.learned_positions else 0
    if s.relative_positions:
        pos += s.n_layer * s.d_model * s.d_attn
    out = 0 if s.tied_embeddings else s.vocab_size * s.d_model
    return ParamCount(
        attention=s.n_layer * attn, mlp=s.n_layer * mlp, norms=norms,
        embedding=emb, positional=pos, output=out,
    )


CHINCHILLA_VOCAB = 32_000
"""Vocabulary of Gopher and Chinchilla (SentencePiece, 32,000 tokens; Hoffmann et al. 2022, Table A8; Rae et al. 2021)."""
CHINCHILLA_SEQ_LEN = 2048
"""Training sequence length of Gopher (Rae et al. 2021), assumed for Chinchilla's Appendix F counts."""


def chinchilla_shape(
    n_layer: int, d_model: int, n_heads: int, kv_size: int, ffw_size: int,
    vocab_size: int = CHINCHILLA_VOCAB, seq_len: int = CHINCHILLA_SEQ_LEN, name: str = "",
) -> TransformerShape:
    """A model shape of Hoffmann et al. 2022 (Tables A4, A9), counted as their tables count it.

    Relative positions (one extra ``d_model x d_attn`` matrix per layer), no biases or norm
    parameters in the count, the token embedding counted once (our inference: it reproduces all
    50 sizes of Table A9 to the printed million, see ``tests/test_counting.py``).
    """
    return TransformerShape(
        n_layer=n_layer, d_model=d_model, n_heads=n_heads, d_head=kv_size, d_ff=ffw_size,
        vocab_size=vocab_size, n_ctx=seq_len, tied_embeddings=True, learned_positions=False,
        relative_positions=True, bias=False, norm_bias=False, name=name,
    )


def chinchilla_params(shape: TransformerShape) -> int:
    """Parameters as Hoffmann et al. 2022 count them (Tables A4, A9; App. F: "we also count
    embeddings matrices in the total parameter count"): every weight matrix and the embedding,
    without the (tiny) norm parameters. Use with :func:`chinchilla_shape`. [parameters]"""
    pc = count_params(shape)
    return pc.total - pc.norms


def kaplan_forward_flops_per_token(
    non_embedding_params: ArrayLike, n_layer: ArrayLike, n_ctx: ArrayLike, d_attn: ArrayLike
) -> NDArray[np.float64]:
    """``C_forward = 2 N + 2 n_layer n_ctx d_attn`` FLOPs per token (Kaplan et al. 2020, Table 1).

    The second term is the attention over the context (the ``QK^T`` and attention-weighted value
    products); embeddings and the output layer are not counted. [FLOP/token]
    """
    n = positive_array("non_embedding_params", non_embedding_params)
    nl = positive_array("n_layer", n_layer)
    c = positive_array("n_ctx", n_ctx)
    da = positive_array("d_attn", d_attn)
    n, nl, c, da = broadcast(non_embedding_params=n, n_layer=nl, n_ctx=c, d_attn=da)
    return 2.0 * n + 2.0 * nl * c * da


def kaplan_training_flops_per_token(
    non_embedding_params: ArrayLike, n_layer: ArrayLike, n_ctx: ArrayLike, d_attn: ArrayLike
) -> NDArray[np.float64]:
    """Training FLOPs per token, three times ``C_forward`` (the backward pass costs twice the
    forward; Kaplan et al. 2020, Sec. 2.1): ``≈ 6 N`` when ``d_model > n_ctx/12``. [FLOP/token]"""
    return 3.0 * kaplan_forward_flops_per_token(non_embedding_params, n_layer, n_ctx, d_attn)


@dataclass(frozen=True)
class FlopBreakdown:
    """Forward-pass FLOPs of one sequence, term by term, after Hoffmann et al. 2022, Appendix F [FLOP].

    embeddings; attention (QKV projections, ``QK^T`` logits, softmax, attention-weighted values,
    output projection) and dense (MLP) summed over layers; logits (the output, vocabulary layer).
    """

    embeddings: float
    qkv: float
    attention_logits: float
    softmax: float
    attention_values: float
    attention_output: float
    dense: float
    logits: float
    seq_len: int

    @property
    def attention(self) -> float:
        return self.qkv + self.attention_logits + self.softmax + self.attention_values + self.attention_output

    def forward(self, *, embeddings: bool = True, logits: bool = True) -> float:
        """Forward FLOPs per sequence, optionally leaving out the embedding or logit terms."""
        return (
            (self.embeddings if embeddings else 0.0)
            + self.attention + self.dense
            + (self.logits if logits else 0.0)
        )

    def training(self, *, embeddings: bool = True, logits: bool = True) -> float:
        """Forward + backward FLOPs per sequence (backward = 2 x forward, Appendix F)."""
        return 3.0 * self.forward(embeddings=embeddings, logits=logits)

    def training_per_token(self, *, embeddings: bool = True, logits: bool = True) -> float:
        """Forward + backward FLOPs per token [FLOP/token]."""
        return self.training(embeddings=embeddings, logits=logits) / self.seq_len


def chinchilla_forward_flops(shape: TransformerShape, seq_len: int | None = None) -> FlopBreakdown:
    """Forward FLOPs of one sequence, as counted by Hoffmann et al. 2022, Appendix F.

    Per sequence of ``seq_len`` tokens (default ``shape.n_ctx``), with ``d_attn = kv_size n_heads``:
    embeddings ``2 seq V d_model``; per layer QKV ``2·3 seq d_model d_attn``, logits
    ``2 seq^2 d_attn``, softmax ``3 n_heads seq^2``, softmax@values ``2 seq^2 d_attn``, output
    projection ``2 seq d_attn d_model``, dense ``2 seq (2 d_model d_ffw)`` (``3`` matrices with
    ``glu``, an extension); final logits ``2 seq d_model V``. Grouped-query attention shrinks the
    K and V projections (an extension beyond the appendix).
    """
    s = shape
    seq = s.n_ctx if seq_len is None else positive_int("seq_len", seq_len)
    d_kv = s.kv_heads * s.d_head
    layers = s.n_layer
    return FlopBreakdown(
        embeddings=2.0 * seq * s.vocab_size * s.d_model,
        qkv=layers * 2.0 * seq * s.d_model * (s.d_attn + 2 * d_kv),
        attention_logits=layers * 2.0 * seq * seq * s.d_attn,
        softmax=layers * 3.0 * s.n_heads * seq * seq,
        attention_values=layers * 2.0 * seq * seq * s.d_attn,
        attention_output=layers * 2.0 * seq * s.d_attn * s.d_model,
        dense=layers * 2.0 * seq * (3 if s.glu else 2) * s.d_model * s.d_ff,
        logits=2.0 * seq * s.d_model * s.vocab_size,
        seq_len=seq,
    )


def chinchilla_training_flops(
    shape: TransformerShape, tokens: ArrayLike, *, embeddings: bool = True, logits: bool = True
) -> NDArray[np.float64]:
    """Training FLOPs for ``tokens`` tokens under Hoffmann et al. 2022, Appendix F counting [FLOP]."""
    d = positive_array("tokens", tokens)
    per_token = chinchilla_forward_flops(shape).training_per_token(embeddings=embeddings, logits=logits)
    return per_token * d
