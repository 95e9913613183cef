"""The small result record shared by the newer stats modules (private)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .models import _row


@dataclass
class Estimate:
    """One headline quantity: ``estimate, ci_low, ci_high, p_value, n`` plus the method
    that produced it (``method``, e.g. "beta-binomial ML, Wald z") and method-specific
    numbers in ``extra`` (scalars become extra tidy columns; tables stay out of rows)."""

    quantity: str
    estimate: float
    ci_low: float = np.nan
    ci_high: float = np.nan
    p_value: float = np.nan
    n: int | None = None
    method: str = ""
    extra: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return asdict(self)

    def rows(self, analysis: str) -> list[dict]:
        """One tidy row (``analysis, quantity, estimate, ci_low, ci_high, p_value, n``) plus
        ``method`` and the scalar entries of ``extra``."""
        r = _row(
            analysis, self.quantity, self.estimate, self.ci_low, self.ci_high, self.p_value, self.n
        )
        r["method"] = self.method
        for k, v in self.extra.items():
            if isinstance(v, int | float | bool | str | np.floating | np.integer):
                r[k] = v
        return [r]
