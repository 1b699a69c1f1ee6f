"""Data pruning in the teacher-student perceptron of Sorscher et al. 2022.

Sorscher et al. 2022 ("Beyond neural scaling laws: beating power law scaling via data pruning",
arXiv:2206.14486, Sec. 2) study a linear classifier in ``d`` dimensions: inputs ``x ~ N(0, I_d)``,
labels ``y = sign(T . x)`` from a random teacher ``T``. A pool of ``P`` examples is ranked by a
pruning metric, the margin ``|T . x|`` (the ideal metric: a perfectly informed probe), and only a
fraction ``f`` is kept: the *hardest* (smallest margin) or the *easiest* (largest margin), or a
random subset. A student ``J`` is trained on the kept examples; its test error is the angle between
student and teacher over pi, ``arccos(J . T / |J||T|) / pi``.

The student here is L2-regularised logistic regression solved by Newton's method, whose direction
approaches the maximum-margin separator as the penalty goes to zero (the paper's student is the
max-margin perceptron; the qualitative behaviour is the same). Everything is numpy and seeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..validation import positive_array, positive_int, positive_scalar

__all__ = ["generalization_error", "train_student", "PruningCurve", "pruning_experiment", "KEEP_RULES"]

KEEP_RULES = ("random", "hard", "easy")
"""Which examples of the pool are kept: a random subset, the smallest teacher margins, the largest."""


def generalization_error(student: ArrayLike, teacher: ArrayLike) -> NDArray[np.float64]:
    """Test error of a perceptron: ``arccos(cos angle(J, T)) / pi`` (dimensionless, 0 to 1/2 for a
    useful student). student: ``(..., d)``; teacher: ``(d,)`` or ``(..., d)``."""
    j = np.asarray(student, dtype=float)
    t = np.asarray(teacher, dtype=float)
    if j.shape[-1] != t.shape[-1]:
        raise ValueError(f"student has dimension {j.shape[-1]} but teacher has {t.shape[-1]}")
    nj, nt = np.linalg.norm(j, axis=-1), np.linalg.norm(t, axis=-1)
    if np.any(nj == 0) or np.any(nt == 0):
        raise ValueError("student or teacher: a zero vector has no direction")
    cos = np.clip(np.sum(j * t, axis=-1) / (nj * nt), -1.0, 1.0)
    return np.arccos(cos) / np.pi


def train_student(x: ArrayLike, y: ArrayLike, ridge: float = 1e-6, iterations: int = 30) -> NDArray[np.float64]:
    """Logistic-regression student ``J`` for inputs ``x`` (P, d) and labels ``y`` in {-1, +1}.

    Minimises ``mean log(1 + exp(-y J.x)) + ridge |J|^2 / 2`` by ``iterations`` Newton steps
    (with a unit step capped at norm 1000). Returns ``J`` (d,).
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.ndim != 2 or ya.shape != (xa.shape[0],):
        raise ValueError(f"x must be (P, d) and y (P,); got {xa.shape} and {ya.shape}")
    if not np.all(np.isin(ya, (-1.0, 1.0))):
        raise ValueError("y: labels must be -1 or +1")
    ridge = positive_scalar("ridge", ridge)
    iterations = positive_int("iterations", iterations)
    p, d = xa.shape
    w = np.zeros(d)
    for _ in range(iterations):
        m = ya * (xa @ w)
        s = 0.5 * (1.0 - np.tanh(0.5 * m))          # sigmoid(-m), overflow-free
        grad = -(xa * (ya * s)[:, None]).mean(axis=0) + ridge * w
        h = (xa * (s * (1 - s))[:, None]).T @ xa / p + ridge * np.eye(d)
        step = np.linalg.solve(h, grad)
        norm = np.linalg.norm(step)
        if norm > 1e3:
            step *= 1e3 / norm
        w = w - step
        if norm < 1e-10:
            break
    return w


@dataclass(frozen=True)
class PruningCurve:
    """Mean test error over ``trials`` for each kept-data size: ``kept`` examples [count], ``alpha``
    = kept / d, ``error`` and its standard error ``error_se`` (dimensionless); ``rule`` and
    ``fraction_kept`` say how the pool was pruned."""

    rule: str
    fraction_kept: float
    dim: int
    kept: NDArray[np.float64]
    error: NDArray[np.float64]
    error_se: NDArray[np.float64]

    @property
    def alpha(self) -> NDArray[np.float64]:
        return self.kept / self.dim

    def power_law_exponent(self) -> float:
        """Slope ``-d log(error) / d log(kept)`` from a least-squares line in log-log (dimensionless)."""
        return float(-np.polyfit(np.log(self.kept), np.log(self.error), 1)[0])


def pruning_experiment(kept: ArrayLike, fraction_kept: float, rule: Literal["random", "hard", "easy"],
                       dim: int = 50, trials: int = 20, seed: int = 0, ridge: float = 1e-6) -> PruningCurve:
    """Train students on ``kept`` examples chosen from pools of ``kept / fraction_kept`` by ``rule``.

    Each trial draws a teacher and a pool, keeps ``kept`` examples, trains :func:`train_student`
    and measures :func:`generalization_error`. Seeded by ``seed`` (same pools for every rule when
    the seed is the same). Returns a :class:`PruningCurve`.
    """
    k = positive_array("kept", kept).ravel()
    if np.any(k != np.round(k)):
        raise ValueError("kept: example counts must be whole numbers")
    f = positive_scalar("fraction_kept", fraction_kept)
    if f > 1:
        raise ValueError(f"fraction_kept = {fraction_kept!r} must be at most 1")
    if rule not in KEEP_RULES:
        raise ValueError(f"rule = {rule!r} is not one of {KEEP_RULES}")
    dim = positive_int("dim", dim)
    trials = positive_int("trials", trials)
    errors = np.empty((len(k), trials))
    for i, n_keep in enumerate(k.astype(int)):
        rng = np.random.default_rng([seed, i])
        pool = int(np.ceil(n_keep / f))
        for t in range(trials):
            teacher = rng.standard_normal(dim)
            teacher /= np.linalg.norm(teacher)
            x = rng.standard_normal((pool, dim))
            margin = x @ teacher
            y = np.where(margin >= 0, 1.0, -1.0)
            if rule == "random":
                idx = rng.permutation(pool)[:n_keep]
            elif rule == "hard":
                idx = np.argsort(np.abs(margin), kind="stable")[:n_keep]
            else:
                idx = np.argsort(-np.abs(margin), kind="stable")[:n_keep]
            errors[i, t] = generalization_error(train_student(x[idx], y[idx], ridge=ridge), teacher)
    return PruningCurve(rule=rule, fraction_kept=f, dim=dim, kept=k, error=errors.mean(axis=1),
                        error_se=errors.std(axis=1, ddof=1) / np.sqrt(trials) if trials > 1
                        else np.zeros(len(k)))
