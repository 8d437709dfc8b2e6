"""Duration distributions as piecewise-linear quantile functions, shared by every simulator.

Every distribution a scenario can name (fixed, uniform, log-normal, a histogram) is
held as segments of its quantile function: a uniform ``u`` in [0, 1) falls in the
segment with the largest start probability <= ``u`` and maps linearly inside it.
One representation means one sampling formula, which the Cython, NumPy and Python
simulators evaluate with the same floating-point operations, so that they agree bit
for bit on the same random stream. Samples are whole milliseconds (rounded down).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

LOGNORMAL_TAIL = 1e-7
"""A log-normal is cut at its 1e-7 and 1 - 1e-7 quantiles, so that it has a maximum."""

_LOGNORMAL_GRID = sorted(
    {i / 256 for i in range(1, 256)}
    | {1e-4, 1e-3, 1 - 1e-3, 1 - 1e-4, 1 - 1e-5, 1 - 1e-6}
)


@dataclass(frozen=True, slots=True)
class Segments:
    """A quantile function: segment ``j`` covers probabilities from ``starts[j]``.

    ``starts[0]`` is 0 and starts increase strictly; inside segment ``j`` a uniform
    ``u`` maps to ``values[j] + slopes[j] * (u - starts[j])``.
    """

    starts: tuple[float, ...]
    values: tuple[float, ...]
    slopes: tuple[float, ...]
    minimum_ms: int
    maximum_ms: int
    """The largest sample there can be (reached when the quantile function is flat there)."""
    kind: str

    def segment(self, u: float) -> int:
        """The segment ``u`` falls in."""
        return bisect.bisect_right(self.starts, u) - 1

    def sample(self, u: float) -> int:
        """The duration in whole milliseconds at probability ``u`` in [0, 1)."""
        j = self.segment(u)
        return int(self.values[j] + self.slopes[j] * (u - self.starts[j]))


def from_knots(probabilities: Sequence[float], values: Sequence[float], kind: str) -> Segments:
    """Segments through the knots ``(probabilities[i], values[i])``; zero-width ones dropped."""
    starts, lows, slopes = [], [], []
    for i in range(len(probabilities) - 1):
        width = probabilities[i + 1] - probabilities[i]
        if width <= 0.0:
            continue
        starts.append(probabilities[i])
        lows.append(float(values[i]))
        slopes.append((values[i + 1] - values[i]) / width)
    return Segments(tuple(starts), tuple(lows), tuple(slopes),
                    int(values[0]), int(values[-1]), kind)


def fixed(milliseconds: int) -> Segments:
    """Always ``milliseconds``."""
    return from_knots((0.0, 1.0), (milliseconds, milliseconds), "fixed")


def uniform(low_ms: int, high_ms: int) -> Segments:
    """Uniform between ``low_ms`` and ``high_ms``."""
    return from_knots((0.0, 1.0), (low_ms, high_ms), "uniform")


def lognormal(median_ms: int, sigma: float) -> Segments:
    """Log-normal with ``median_ms`` and shape ``sigma``, cut at its 1e-7 tails."""
    normal = NormalDist(0.0, sigma)
    quantile = [median_ms * math.exp(normal.inv_cdf(p)) for p in _LOGNORMAL_GRID]
    low = median_ms * math.exp(normal.inv_cdf(LOGNORMAL_TAIL))
    high = median_ms * math.exp(normal.inv_cdf(1 - LOGNORMAL_TAIL))
    return from_knots((0.0, *_LOGNORMAL_GRID, 1.0), (low, *quantile, high), "lognormal")


def histogram(edges_ms: Sequence[int], counts: Sequence[float]) -> Segments:
    """Uniform inside each bin ``[edges[j], edges[j + 1])``, bins weighted by ``counts``."""
    total = float(sum(counts))
    probabilities = [0.0]
    for count in counts:
        probabilities.append(probabilities[-1] + count / total)
    probabilities[-1] = 1.0
    segments = from_knots(probabilities, edges_ms, "histogram")
    used = [j for j, count in enumerate(counts) if count > 0]
    # The extremes are those of the bins that can be drawn, not of empty edge bins.
    return Segments(segments.starts, segments.values, segments.slopes,
                    int(edges_ms[used[0]]), int(edges_ms[used[-1] + 1]), "histogram")
