"""RETRO's published comparison (smallest_loss.laws.retrieval)."""

import pytest

from smallest_loss.laws import retrieval as r


def test_constants_as_printed():
    # Brown et al. 2020, Table 2.1: GPT-3 175B; Borgeaud et al. 2021, abstract: 25x, 2T tokens.
    assert r.GPT3_PARAMS == 175e9 and r.RETRO_PARAM_FACTOR == 25.0 and r.RETRO_DATABASE_TOKENS == 2e12
    assert set(r.SOURCES) == {"GPT3_PARAMS", "RETRO_PARAM_FACTOR", "RETRO_DATABASE_TOKENS"}


def test_equivalent_params():
    assert r.retrieval_equivalent_params() == pytest.approx(7e9, rel=1e-12)
    assert r.retrieval_equivalent_params(280e9, 10) == pytest.approx(28e9, rel=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"dense_params": -1.0}, "dense_params"),
    ({"factor": 0.0}, "factor"),
    ({"factor": 0.5}, "factor must be at least 1"),
    ({"dense_params": float("nan")}, "dense_params"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        r.retrieval_equivalent_params(**kwargs)
