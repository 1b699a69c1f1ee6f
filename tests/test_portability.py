"""The results hold on other machines: rerun the numerically delicate tests on other BLAS kernels.

OpenBLAS picks its CPU kernels at run time; ``OPENBLAS_CORETYPE`` forces older ones (Sandybridge: AVX
without FMA; Prescott: SSE3 only). Sums are then added in other orders and rounded differently, which
is how a reader's machine differs from ours. The fits, the bootstraps and the chapters that rest on
them must pass there too: same machine gives identical numbers, other kernels agree within the
tolerances the tests state. The whole suite can be run that way
(``OPENBLAS_CORETYPE=Sandybridge make test``); this test reruns the subset where floating-point
details could matter, so that CI checks it on every submission.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The estimators, their bootstraps, and the chapter that fits them most (chapter 4).
DELICATE = [
    "tests/test_approach1.py",
    "tests/test_approach2.py",
    "tests/test_approach3.py",
    "tests/test_learning_curves.py",
    "tests/test_reconcile.py",
    "tests/test_nb_04_chinchilla.py",
]


@pytest.mark.portability
@pytest.mark.parametrize("coretype", ["Sandybridge", "Prescott"])
def test_delicate_tests_pass_on_other_blas_kernels(coretype: str) -> None:
    env = {**os.environ, "OPENBLAS_CORETYPE": coretype}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *DELICATE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    tail = "\n".join(proc.stdout.splitlines()[-25:])
    assert proc.returncode == 0, f"tests fail with OPENBLAS_CORETYPE={coretype}:\n{tail}\n{proc.stderr[-2000:]}"
    assert " passed" in tail and "failed" not in tail, tail
