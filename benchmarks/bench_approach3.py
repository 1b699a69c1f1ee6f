"""Benchmark of smallest_loss.fit.approach3 on the 240 Epoch AI Chinchilla points.

Measures, in one run:
1. the full 4500-start Approach 3 grid (Hoffmann et al. 2022, App. D.2) with the batched L-BFGS of
   ``fit_approach3``, against a plain Python loop of ``scipy.optimize.minimize(method="L-BFGS-B")``
   with numerical gradients (timed on evenly spaced starts and scaled to 4500), and checks that both
   reach the same optimum (best objectives equal within 1e-9 relative after polishing both bests);
2. 4000 bootstrap refits (``bootstrap_approach3``).
It also prints the fitted constants next to Besiroglu et al. (2024) and the sum-vs-mean comparison.
Timings are printed, never asserted.

Usage: make bench, or .venv/bin/python benchmarks/bench_approach3.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

from smallest_loss.laws import BESIROGLU2024, HOFFMANN2022
from smallest_loss.fit.approach3 import (
    approach3_objective,
    bootstrap_approach3,
    fit_approach3,
    initial_grid,
)

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"

# Besiroglu et al. 2024: the plain grid fit on the 240 points (their Sec. 3) and their final fit
# with bootstrap standard errors (their Eq. 3 / Table 1)
BESIROGLU_GRID = {"A": 478, "B": 2144, "E": 1.817, "alpha": 0.347, "beta": 0.367, "a": 0.514}
BESIROGLU_FINAL = {"E": 1.82, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
BESIROGLU_SE = {"E": 0.03, "A": 124.58, "B": 1293.23, "alpha": 0.02, "beta": 0.02}


def load_points() -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(N, D, L) of the 240 points Besiroglu et al. fit, through the verified loader."""
    from smallest_loss.datasets import load_chinchilla

    if not os.environ.get("SMALLEST_LOSS_DATA_MIRROR") and MIRROR.is_dir():
        os.environ["SMALLEST_LOSS_DATA_MIRROR"] = str(MIRROR)
    df = load_chinchilla()
    df = df[~df["besiroglu_excluded"]]
    return (df["params"].to_numpy(float), df["tokens"].to_numpy(float),
            df["loss"].to_numpy(float), "smallest_loss.datasets.load_chinchilla()")


def loop_objective(x, y, lo, delta=1e-3):
    """The objective as one would write it for scipy: a scalar function of theta."""
    def f(theta):
        a, b, e, alpha, beta = theta
        pred = logsumexp([a - alpha * x, b - beta * y, np.full_like(x, e)], axis=0)
        return huber(delta, pred - lo).sum()
    return f


def polish_scipy(theta, x, y, lo):
    """scipy L-BFGS-B with the analytic gradient and tight tolerances from ``theta``."""
    r = minimize(lambda t: approach3_objective(t, x, y, lo), theta, jac=True, method="L-BFGS-B",
                 options={"gtol": 1e-12, "ftol": 1e-16, "maxiter": 15000})
    return r.x, float(r.fun)


def polish_batched(theta, n, d, loss):
    """The batched L-BFGS with tight tolerances from ``theta`` (gets further down the flat valley
    than scipy's line search, which stalls with gradients ~1e-8)."""
    p = fit_approach3(n, d, loss, starts=theta, gtol=1e-12, ftol=1e-18)
    return p.theta, p.objective


def fmt(d: dict) -> str:
    return "  ".join(f"{k}={v:.5g}" for k, v in d.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer loop starts and bootstrap resamples")
    args = ap.parse_args()
    n_loop = 15 if args.quick else 45
    n_boot = 400 if args.quick else 4000
    repeats = 1 if args.quick else 3

    n, d, loss, source = load_points()
    x, y, lo = np.log(n), np.log(d), np.log(loss)
    grid = initial_grid()
    print(f"data: {len(n)} points from {source}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}\n")

    # -- 1. one batched objective evaluation ----------------------------------------------------
    approach3_objective(grid, x, y, lo)
    t = time.perf_counter()
    for _ in range(5):
        approach3_objective(grid, x, y, lo)
    t_eval = (time.perf_counter() - t) / 5
    print(f"objective + gradient, 4500 thetas x {len(n)} points: {1e3 * t_eval:.1f} ms")

    # -- 2. full grid, batched -----------------------------------------------------------------
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fit = fit_approach3(n, d, loss)
        times.append(time.perf_counter() - t)
    t_grid = min(times)
    print(f"fit_approach3, 4500 starts: {t_grid:.2f} s (best of {repeats}); "
          f"converged {fit.n_converged}/{fit.n_starts}; iterations mean "
          f"{fit.start_n_iter.mean():.0f}, max {fit.start_n_iter.max()}")

    # -- 3. the plain loop on a subset ---------------------------------------------------------
    idx = np.linspace(0, len(grid) - 1, n_loop).round().astype(int)
    f = loop_objective(x, y, lo)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        loop = [minimize(f, grid[i], method="L-BFGS-B") for i in idx]
        times.append(time.perf_counter() - t)
    t_loop = min(times)
    t_loop_full = t_loop * len(grid) / n_loop
    print(f"scipy L-BFGS-B loop, numerical gradients: {t_loop:.2f} s for {n_loop} starts (best of {repeats}) "
          f"-> {t_loop_full:.0f} s scaled to 4500 (mean {np.mean([r.nit for r in loop]):.0f} "
          f"iterations, {np.mean([r.nfev for r in loop]):.0f} evaluations per start)")
    print(f"SPEED-UP, full grid: {t_loop_full / t_grid:.0f}x (goal >= 100x)\n")

    # -- 4. same optimum? ------------------------------------------------------------------------
    loop_best = min(loop, key=lambda r: r.fun)
    sub = fit_approach3(n, d, loss, starts=grid[idx])
    agree = np.isclose(sub.start_objective, [r.fun for r in loop], rtol=1e-6, atol=0)
    print(f"same {n_loop} starts: per-start end objectives agree (1e-6 rel) on "
          f"{agree.sum()}/{n_loop}; best: batched {sub.objective:.12g}, loop {loop_best.fun:.12g}")
    print(f"best objective, raw: batched 4500 starts {fit.objective:.15g}, "
          f"loop {n_loop} starts {loop_best.fun:.15g}, rel. diff "
          f"{abs(fit.objective - loop_best.fun) / fit.objective:.2e}")
    for label, polish in (
        ("scipy L-BFGS-B, analytic gradient, gtol 1e-12", lambda th: polish_scipy(th, x, y, lo)),
        ("batched L-BFGS, gtol 1e-12, ftol 1e-18", lambda th: polish_batched(th, n, d, loss)),
    ):
        th_b, f_b = polish(fit.theta)
        th_l, f_l = polish(loop_best.x)
        rel = abs(f_b - f_l) / min(f_b, f_l)
        print(f"both bests polished ({label}): {f_b:.15g} vs {f_l:.15g}, rel. diff {rel:.2e} -> "
              f"{'SAME OPTIMUM' if rel <= 1e-9 else 'DIFFERENT'} (tolerance 1e-9); "
              f"max |theta diff| {np.max(np.abs(th_b - th_l)):.1e}; polishing moved the batched "
              f"best by {(fit.objective - f_b) / f_b:.1e} (rel.)")
    print()

    # -- 5. the fit ------------------------------------------------------------------------------
    ours = fit.as_dict()
    t0 = time.perf_counter()
    ident = fit.identification
    t_ident = time.perf_counter() - t0
    print(f"identification (profiles of E, A, B, alpha, beta, a): {t_ident:.2f} s; {ident.reason}")
    print("  near-optimal ranges: " + "  ".join(
        f"{k}=[{lo_:.4g}, {hi_:.4g}]" for k, (lo_, hi_) in ident.ranges.items()))
    print("fit (sum of Huber losses, delta 1e-3, best of 4500):")
    print(f"  ours:                  {fmt(ours)}  objective={fit.objective:.10g}")
    print(f"  Besiroglu grid fit:    {fmt(BESIROGLU_GRID)}")
    print(f"  Besiroglu final fit:   {fmt(BESIROGLU_FINAL)}")
    for law in (BESIROGLU2024, HOFFMANN2022):
        th = np.log([law.A, law.B, law.E]).tolist() + [law.alpha, law.beta]
        obj = float(approach3_objective(th, x, y, lo)[0])
        print(f"  objective at {law.name}: {obj:.10g} ({100 * (obj / fit.objective - 1):.2f}% above ours)")
    t = time.perf_counter()
    fm = fit_approach3(n, d, loss, reduction="mean")
    t_mean = time.perf_counter() - t
    print(f"  reduction='mean':      {fmt(fm.as_dict())}  objective x n={fm.objective * fm.n_points:.10g} "
          f"({100 * (fm.objective * fm.n_points / fit.objective - 1):.1f}% worse); iterations mean "
          f"{fm.start_n_iter.mean():.0f} vs {fit.start_n_iter.mean():.0f}; best start stopped on "
          f"'{fm.status}' after {fm.n_iter} (sum: '{fit.status}' after {fit.n_iter}); {t_mean:.2f} s\n")

    # -- 6. bootstrap ---------------------------------------------------------------------------
    t = time.perf_counter()
    boot = bootstrap_approach3(n, d, loss, n_bootstrap=n_boot, seed=0, full_fit=fit)
    t_boot = time.perf_counter() - t
    scaled = t_boot * 4000 / n_boot
    print(f"bootstrap_approach3: {n_boot} refits x {boot.starts.shape[0]} starts in {t_boot:.2f} s"
          + ("" if n_boot == 4000 else f" -> {scaled:.1f} s scaled to 4000")
          + f" (goal < 60 s); converged {boot.converged.sum()}/{n_boot}; iterations mean "
          f"{boot.n_iter.mean():.0f}, max {boot.n_iter.max()}")
    se, ci = boot.se(), boot.ci(0.95)
    print(f"  SE ours:       {fmt(se)}")
    print(f"  SE Besiroglu:  {fmt(BESIROGLU_SE)}")
    print("  95% percentile intervals: " + "  ".join(f"{k}=[{lo_:.4g}, {hi_:.4g}]" for k, (lo_, hi_) in ci.items()))


if __name__ == "__main__":
    main()
