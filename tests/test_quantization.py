"""Block-wise 8-bit quantization (counting.quantization)."""

import numpy as np
import pytest

from smallest_loss.counting import quantization as q


def test_codes():
    assert q.LINEAR_CODE.size == 256 and q.LINEAR_CODE[0] == 0 and q.LINEAR_CODE[-1] == 1
    g = q.geometric_code(1e-7)
    assert g.size == 256 and g[0] == 0 and g[1] == pytest.approx(1e-7) and g[-1] == 1
    assert np.all(np.diff(g) > 0)


def test_blockwise_quantize_values():
    x = np.array([0.0, 0.1, 0.3, 1.0, 2.0, 3.0, 6.0, 8.0])   # no ties between levels
    # block 4: absmax 1 then 8; linear levels k/255
    out = q.blockwise_quantize(x, 4)
    expect = np.concatenate([np.round(x[:4] * 255) / 255, np.round(x[4:] / 8 * 255) / 255 * 8])
    assert out == pytest.approx(expect)
    # the absolute maximum of every block is exact
    assert out[3] == 1.0 and out[7] == 8.0
    # an all-zero block stays zero
    assert np.all(q.blockwise_quantize(np.zeros(4), 2) == 0)


def test_blocks_and_dynamic_code_keep_small_values():
    rng = np.random.default_rng(0)
    v = np.exp(rng.normal(0, 3, 4096))
    zero = {(c, b): np.mean(q.blockwise_quantize(v, b, code) == 0)
            for c, code in (("lin", q.LINEAR_CODE), ("geo", q.geometric_code()))
            for b in (4096, 64)}
    assert zero["lin", 4096] > zero["lin", 64] > zero["geo", 4096] >= zero["geo", 64]
    assert zero["lin", 4096] > 0.5


@pytest.mark.parametrize("x, block, code, match", [
    ([1.0, -1.0], 2, q.LINEAR_CODE, r"x\[1\]"),
    ([1.0, np.nan], 2, q.LINEAR_CODE, r"x\[1\]"),
    ([1.0, 2.0, 3.0], 2, q.LINEAR_CODE, "does not divide"),
    ([1.0, 2.0], 0, q.LINEAR_CODE, "block_size"),
    ([[1.0, 2.0]], 1, q.LINEAR_CODE, "1-D"),
    ([1.0, 2.0], 1, [0.0, 0.5], "code"),
])
def test_bad_input(x, block, code, match):
    with pytest.raises(ValueError, match=match):
        q.blockwise_quantize(x, block, code)
    with pytest.raises(ValueError, match="n_levels"):
        q.geometric_code(n_levels=2)


def test_ties_go_to_the_lower_level():
    # 0.5 lies halfway between 127/255 and 128/255
    assert q.blockwise_quantize(np.array([0.5, 1.0]), 2)[0] == pytest.approx(127 / 255)
