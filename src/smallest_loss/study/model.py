"""The study's model: a GPT-style decoder-only transformer in PyTorch.

Pre-norm blocks (LayerNorm without bias, then causal multi-head self-attention; LayerNorm, then a
GELU MLP of width ``4 d_model``), **learned absolute positions**, no biases in linear layers, the
output layer tied to the token embedding. Its parameter count and FLOPs per token come from
:mod:`smallest_loss.counting.transformer` (:func:`model_shape` says how the model maps onto a
:class:`~smallest_loss.counting.transformer.TransformerShape`), and a test checks that count against
``sum(p.numel())`` of the built module.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..counting import TransformerShape, count_params

__all__ = ["model_shape", "GPT", "param_counts"]


def model_shape(n_layer: int, d_model: int, n_heads: int, vocab_size: int, n_ctx: int) -> TransformerShape:
    """The :class:`~smallest_loss.counting.transformer.TransformerShape` of the study's model: ``d_head =
    d_model / n_heads``, ``d_ff = 4 d_model``, GELU MLP, tied output layer, learned positions, no
    linear biases, LayerNorm weights only."""
    if d_model % n_heads:
        raise ValueError(f"d_model = {d_model} must be a multiple of n_heads = {n_heads}")
    return TransformerShape(
        n_layer=n_layer, d_model=d_model, n_heads=n_heads, d_head=d_model // n_heads, d_ff=4 * d_model,
        vocab_size=vocab_size, n_ctx=n_ctx, glu=False, tied_embeddings=True, learned_positions=True,
        relative_positions=False, bias=False, norm_bias=False,
    )


def param_counts(shape: TransformerShape) -> tuple[int, int]:
    """(total, non-embedding) parameters of the study's model of ``shape``, from
    :func:`smallest_loss.counting.transformer.count_params`. Total counts the tied embedding once and the
    learned positions; non-embedding is attention + MLP + norms (Kaplan's N plus the norms)."""
    pc = count_params(shape)
    return pc.total, pc.non_embedding


class _Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(d_model, bias=False)
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)
        self.ln2 = nn.LayerNorm(d_model, bias=False)
        self.fc = nn.Linear(d_model, 4 * d_model, bias=False)
        self.out = nn.Linear(4 * d_model, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        h = self.n_heads
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    """Decoder-only transformer of :func:`model_shape`; ``forward(idx)`` returns logits
    ``[batch, time, vocab]``. Initialisation: normal(0, 0.02), residual output projections scaled by
    ``1/sqrt(2 n_layer)`` (GPT-2)."""

    def __init__(self, shape: TransformerShape) -> None:
        super().__init__()
        self.shape = shape
        s = shape
        self.tok = nn.Embedding(s.vocab_size, s.d_model)
        self.pos = nn.Embedding(s.n_ctx, s.d_model)
        self.blocks = nn.ModuleList(_Block(s.d_model, s.n_heads) for _ in range(s.n_layer))
        self.ln_f = nn.LayerNorm(s.d_model, bias=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * s.n_layer) if name.endswith(("proj.weight", "out.weight")) else 0.02
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return F.linear(self.ln_f(x), self.tok.weight)  # output layer tied to the embedding
