"""What Approaches 1 and 2's bootstrap results share: standard errors and percentile intervals of
the allocation exponents ``a`` and ``b`` over the resamples that did not fail (NaN marks a failed
resample)."""

from __future__ import annotations

import numpy as np

from ..validation import positive_scalar


class ExponentBootstrapMixin:
    """Needs the attributes ``a``, ``b`` (one value per resample, NaN where it failed) and
    ``n_failed``."""

    @property
    def n_bootstrap(self) -> int:
        """Number of resamples drawn."""
        return int(self.a.size)

    def se(self) -> dict[str, float]:
        """Bootstrap standard errors of ``a`` and ``b`` (sample standard deviation over the
        successful resamples)."""
        return {k: float(np.nanstd(getattr(self, k), ddof=1)) for k in ("a", "b")}

    def ci(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Percentile interval at ``level`` (0 < level < 1) over the successful resamples;
        ValueError when every resample failed."""
        lv = positive_scalar("level", level)
        if lv >= 1:
            raise ValueError(f"level = {level!r} must be between 0 and 1")
        if self.n_failed == self.n_bootstrap:
            raise ValueError(f"every one of the {self.n_bootstrap} resamples failed: no interval")
        q = 50.0 * np.array([1.0 - lv, 1.0 + lv])
        return {k: tuple(float(v) for v in np.nanpercentile(getattr(self, k), q)) for k in ("a", "b")}
