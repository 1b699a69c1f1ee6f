"""Routed-layer counting (smallest_loss.counting.moe) against published model cards."""

import pytest

from smallest_loss import counting as c


def mixtral_8x7b():
    # Jiang et al. 2024, Table 1: dim 4096, 32 layers, head_dim 128, hidden 14336, 32 heads,
    # 8 KV heads, vocabulary 32000, 8 experts, top-2; SwiGLU, RMSNorm, untied output layer.
    shape = c.TransformerShape(n_layer=32, d_model=4096, n_heads=32, d_head=128, d_ff=14336,
                               vocab_size=32000, n_ctx=32768, n_kv_heads=8, glu=True,
                               tied_embeddings=False, learned_positions=False, bias=False,
                               norm_bias=False)
    return c.MoETransformer(shape, c.MoELayer(4096, 14336, 8, top_k=2, glu=True))


def test_mixtral_8x7b_model_card():
    p = c.count_moe_params(mixtral_8x7b())
    assert p.total == 46_702_792_704          # exact count under the Table 1 shape: 46.7B
    assert p.active == 12_879_925_248         # 12.9B per token
    assert round(p.total / 1e9) == 47 and round(p.active / 1e9) == 13   # Jiang et al., abstract: 47B / 13B


def test_mixtral_8x22b_model_card():
    # Mistral AI, Mixtral 8x22B: 39B active out of 141B (config: dim 6144, 56 layers, 48 heads,
    # 8 KV heads, hidden 16384, vocabulary 32768).
    shape = c.TransformerShape(n_layer=56, d_model=6144, n_heads=48, d_head=128, d_ff=16384,
                               vocab_size=32768, n_ctx=65536, n_kv_heads=8, glu=True,
                               tied_embeddings=False, learned_positions=False, bias=False,
                               norm_bias=False)
    p = c.count_moe_params(c.MoETransformer(shape, c.MoELayer(6144, 16384, 8, top_k=2, glu=True)))
    assert round(p.total / 1e9) == 141 and round(p.active / 1e9) == 39


T5_D, T5_FF, T5_V = 768, 3072, 32128


def t5_base():
    enc = 12 * (4 * T5_D**2 + 2 * T5_D * T5_FF)
    dec = 12 * (8 * T5_D**2 + 2 * T5_D * T5_FF)       # self- and cross-attention
    return enc + dec + T5_V * T5_D                      # tied embedding


@pytest.mark.parametrize("experts, printed", [(16, 1.1e9), (64, 3.8e9), (128, 7.4e9), (256, 14.7e9)])
def test_switch_base_family(experts, printed):
    # Fedus et al. 2021: T5-Base 223M; Switch-Base with an expert layer in every other FFN
    # (12 of 24): 1.1B ... 14.7B (Sec. 3.1, 4.2, Tables 6 and 8).
    assert round(t5_base() / 1e6) == 223
    total, active = c.replace_mlps_with_moe(t5_base(), 2 * T5_D * T5_FF, 12,
                                            c.MoELayer(T5_D, T5_FF, experts))
    assert total == pytest.approx(printed, rel=0.04)
    assert round(total / 1e8) == round(printed / 1e8)      # to the printed 0.1B
    assert active - t5_base() == 12 * T5_D * experts    # FLOP-matched: only the routers are added


def test_active_equals_dense_when_one_expert():
    shape = mixtral_8x7b().shape
    one = c.MoETransformer(shape, c.MoELayer(4096, 14336, 1, top_k=1, glu=True))
    p, dense = c.count_moe_params(one), c.count_params(shape)
    assert p.total == p.active == dense.total + 32 * 4096   # plus the (trivial) routers


def test_shared_experts_and_flops():
    layer = c.MoELayer(1024, 512, 64, top_k=6, n_shared=2, glu=True)
    assert layer.total_params == (64 + 2) * 3 * 1024 * 512 + 1024 * 64
    assert layer.active_params == (6 + 2) * 3 * 1024 * 512 + 1024 * 64
    m = mixtral_8x7b()
    p = c.count_moe_params(m)
    per_token = c.moe_training_flops_per_token(m, n_ctx=4096)
    assert per_token == 6 * p.non_embedding_active + 6 * 32 * 4096 * 4096
    assert per_token < 6 * p.non_embedding_total / 3


@pytest.mark.parametrize("kwargs, message", [
    (dict(d_model=8, d_expert=8, n_experts=2, top_k=3), "top_k = 3 exceeds n_experts = 2"),
    (dict(d_model=8, d_expert=8, n_experts=0), "n_experts = 0 must be at least 1"),
    (dict(d_model=8, d_expert=8, n_experts=2, n_shared=-1), "n_shared must be a non-negative"),
])
def test_bad_layers(kwargs, message):
    with pytest.raises(ValueError, match=message):
        c.MoELayer(**kwargs)


def test_bad_models():
    shape = mixtral_8x7b().shape
    with pytest.raises(ValueError, match="moe.d_model = 8 differs"):
        c.MoETransformer(shape, c.MoELayer(8, 8, 2, glu=True))
    with pytest.raises(ValueError, match="moe_every = 0"):
        c.MoETransformer(shape, c.MoELayer(4096, 8, 2, glu=True), moe_every=0)
    with pytest.raises(ValueError, match="exceed dense_params"):
        c.replace_mlps_with_moe(100, 60, 2, c.MoELayer(4, 4, 2))
