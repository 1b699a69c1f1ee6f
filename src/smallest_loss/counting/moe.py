"""Counting routed (mixture-of-experts) transformers: total against active parameters, FLOPs per token.

A routed layer replaces one MLP with ``n_experts`` expert MLPs and a router; each token is sent to
``top_k`` of them (token choice: Shazeer et al. 2017, Switch Transformers' top-1, Mixtral's top-2) and
also through ``n_shared`` always-on shared experts. Every parameter of every expert is stored, so
memory follows the *total* count; a token only multiplies through the experts it is routed to, so
compute follows the *active* count: forward FLOPs per token ``≈ 2 N_active`` (Kaplan et al. 2020,
Sec. 2.1, applied to the weights a token touches), training ``≈ 6 N_active``.

Checked against published sizes in ``tests/test_counting_moe.py``: Mixtral 8x7B (Jiang et al.
2024 print 47B total and 13B active; the exact count is 46.7B and 12.9B) and the Switch-Base family
(Fedus et al. 2021: T5-Base 223M; 64, 128 and 256 experts: 3.8B, 7.4B and 14.7B).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..validation import positive_int
from .transformer import TransformerShape, count_params, kaplan_training_flops_per_token

__all__ = ["MoELayer", "MoETransformer", "MoEParamCount", "count_moe_params",
           "moe_training_flops_per_token", "replace_mlps_with_moe"]


def _non_negative_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


@dataclass(frozen=True)
class MoELayer:
    """One routed MLP layer.

    d_model: residual width; d_expert: hidden width of each routed expert; n_experts: routed
    experts; top_k: experts each token is sent to; n_shared: shared experts every token passes
    through (DeepSeekMoE style), each ``d_shared`` wide (default ``d_expert``); glu: gated experts
    (SwiGLU: three matrices instead of two); bias: biases in the expert matrices; router_bias: a
    bias in the router. The router is one ``d_model x n_experts`` matrix.
    """

    d_model: int
    d_expert: int
    n_experts: int
    top_k: int = 1
    n_shared: int = 0
    d_shared: int | None = None
    glu: bool = False
    bias: bool = False
    router_bias: bool = False

    def __post_init__(self) -> None:
        for f in ("d_model", "d_expert", "n_experts", "top_k"):
            positive_int(f, getattr(self, f))
        _non_negative_int("n_shared", self.n_shared)
        if self.d_shared is not None:
            positive_int("d_shared", self.d_shared)
        if self.top_k > self.n_experts:
            raise ValueError(f"top_k = {self.top_k} exceeds n_experts = {self.n_experts}")

    def _mlp(self, width: int) -> int:
        mats = 3 if self.glu else 2
        out = mats * self.d_model * width
        if self.bias:
            out += (mats - 1) * width + self.d_model
        return out

    @property
    def expert_params(self) -> int:
        """Parameters of one routed expert."""
        return self._mlp(self.d_expert)

    @property
    def shared_params(self) -> int:
        """Parameters of all shared experts together."""
        return self.n_shared * self._mlp(self.d_expert if self.d_shared is None else self.d_shared)

    @property
    def router_params(self) -> int:
        return self.d_model * self.n_experts + (self.n_experts if self.router_bias else 0)

    @property
    def total_params(self) -> int:
        """Every parameter of the layer: all experts, shared experts and the router."""
        return self.n_experts * self.expert_params + self.shared_params + self.router_params

    @property
    def active_params(self) -> int:
        """Parameters one token multiplies through: ``top_k`` experts, the shared ones, the router."""
        return self.top_k * self.expert_params + self.shared_params + self.router_params


@dataclass(frozen=True)
class MoETransformer:
    """A decoder-only transformer (``shape``) whose MLP is replaced by ``moe`` in every
    ``moe_every``-th block (1: every block, as in Mixtral; 2: every other block, as in Switch).
    ``shape.d_ff`` is the width of the dense MLPs that remain."""

    shape: TransformerShape
    moe: MoELayer
    moe_every: int = 1

    def __post_init__(self) -> None:
        positive_int("moe_every", self.moe_every)
        if self.moe.d_model != self.shape.d_model:
            raise ValueError(f"moe.d_model = {self.moe.d_model} differs from shape.d_model = "
                             f"{self.shape.d_model}")
        if self.moe.glu != self.shape.glu:
            raise ValueError(f"moe.glu = {self.moe.glu} differs from shape.glu = {self.shape.glu}")

    @property
    def n_moe_layers(self) -> int:
        return self.shape.n_layer // self.moe_every


@dataclass(frozen=True)
class MoEParamCount:
    """Parameters of a routed model [parameters].

    non_embedding_total / non_embedding_active: attention, MLPs (all experts / the active ones),
    routers and norms; embedding: token and positional embeddings and an untied output layer.
    """

    non_embedding_total: int
    non_embedding_active: int
    embedding: int

    @property
    def total(self) -> int:
        return self.non_embedding_total + self.embedding

    @property
    def active(self) -> int:
        return self.non_embedding_active + self.embedding

    @property
    def active_fraction(self) -> float:
        """Active over total parameters, embeddings included."""
        return self.active / self.total


def replace_mlps_with_moe(dense_params: int, dense_mlp_params: int, n_moe_layers: int,
                          moe: MoELayer) -> tuple[int, int]:
    """``(total, active)`` parameters after ``n_moe_layers`` MLPs of ``dense_mlp_params`` each in a
    model of ``dense_params`` are replaced by the routed layer ``moe``: for architectures the
    :class:`~smallest_loss.counting.transformer.TransformerShape` does not describe, such as the encoder-decoder T5 under Switch."""
    dense_params = positive_int("dense_params", dense_params)
    dense_mlp_params = positive_int("dense_mlp_params", dense_mlp_params)
    _non_negative_int("n_moe_layers", n_moe_layers)
    if n_moe_layers * dense_mlp_params > dense_params:
        raise ValueError(f"n_moe_layers = {n_moe_layers} MLPs of {dense_mlp_params} parameters exceed "
                         f"dense_params = {dense_params}")
    base = dense_params - n_moe_layers * dense_mlp_params
    return base + n_moe_layers * moe.total_params, base + n_moe_layers * moe.active_params


def count_moe_params(model: MoETransformer) -> MoEParamCount:
    """Total and active parameters of ``model``, exact under :func:`~.transformer.count_params`'s
    conventions (biases, norms, tied or untied output layer). [parameters]"""
    pc = count_params(model.shape)
    dense_mlp = pc.mlp // model.shape.n_layer
    n = model.n_moe_layers
    base = pc.non_embedding - n * dense_mlp
    return MoEParamCount(
        non_embedding_total=base + n * model.moe.total_params,
        non_embedding_active=base + n * model.moe.active_params,
        embedding=pc.embedding + pc.positional + pc.output,
    )


def moe_training_flops_per_token(model: MoETransformer, n_ctx: int | None = None) -> float:
    """Training FLOPs per token of a routed model [FLOP/token]: Kaplan et al.'s
    ``3 (2 N + 2 n_layer n_ctx d_attn)`` with ``N`` the *active* non-embedding parameters (router
    included; the routing bookkeeping itself is left out). ``n_ctx`` defaults to ``shape.n_ctx``."""
    ctx = model.shape.n_ctx if n_ctx is None else positive_int("n_ctx", n_ctx)
    n_active = count_moe_params(model).non_embedding_active
    return float(kaplan_training_flops_per_token(n_active, model.shape.n_layer, ctx,
                                                 model.shape.d_attn)[()])
