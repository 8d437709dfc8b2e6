"""The simulators' random numbers: xoshiro256** per run, seeded by splitmix64.

Run ``r`` of a simulation seeded ``seed`` draws from its own generator, whose state is
splitmix64 of ``seed + (4r + i + 1) * 0x9E3779B97F4A7C15`` for ``i`` in 0..3. Streams
therefore depend on the run only, not on how runs are split across threads or
batches, and the Cython loop, the NumPy arrays and the Python objects here produce
the same numbers. Each attempt draws two 64-bit words: the first gives the outcome
(high 32 bits) and the label (low 32 bits), the second the duration (53 bits). An
attempt that does not complete has no label: its low 32 bits jitter the wait after it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
TWO_TO_MINUS_32 = 2.0**-32
TWO_TO_MINUS_53 = 2.0**-53

Words = npt.NDArray[np.uint64]


class Draws(Protocol):
    """A source of one attempt's three uniforms in [0, 1): outcome, label, duration."""

    def attempt(self) -> tuple[float, float, float]: ...


def splitmix(x: int) -> int:
    """The splitmix64 output function of counter ``x``."""
    z = x & MASK
    z = ((z ^ (z >> 30)) * _MIX1) & MASK
    z = ((z ^ (z >> 27)) * _MIX2) & MASK
    return z ^ (z >> 31)


class Xoshiro:
    """xoshiro256** for one run, in plain Python integers (the naive simulator's)."""

    def __init__(self, seed: int, run: int) -> None:
        self.state = [splitmix(seed + (4 * run + i + 1) * GOLDEN) for i in range(4)]

    def next(self) -> int:
        s0, s1, s2, s3 = self.state
        result = (_rotl((s1 * 5) & MASK, 7) * 9) & MASK
        t = (s1 << 17) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        self.state = [s0, s1, s2, _rotl(s3, 45)]
        return result

    def attempt(self) -> tuple[float, float, float]:
        first, second = self.next(), self.next()
        return ((first >> 32) * TWO_TO_MINUS_32, (first & 0xFFFFFFFF) * TWO_TO_MINUS_32,
                (second >> 11) * TWO_TO_MINUS_53)


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK


class XoshiroArrays:
    """xoshiro256** for many runs at once, one lane per run (the NumPy simulator's)."""

    def __init__(self, seed: int, runs: npt.NDArray[np.int64]) -> None:
        counters = runs.astype(np.uint64) * np.uint64(4)
        base = np.uint64(seed & MASK)
        self.state = [_splitmix_array(base + (counters + np.uint64(i + 1)) * np.uint64(GOLDEN))
                      for i in range(4)]

    def keep(self, lanes: npt.NDArray[np.bool_]) -> None:
        """Drop the lanes of runs that ended."""
        self.state = [word[lanes] for word in self.state]

    def next(self) -> Words:
        s0, s1, s2, s3 = self.state
        result = _rotl_array(s1 * np.uint64(5), 7) * np.uint64(9)
        t = s1 << np.uint64(17)
        s2 = s2 ^ s0
        s3 = s3 ^ s1
        s1 = s1 ^ s2
        s0 = s0 ^ s3
        s2 = s2 ^ t
        self.state = [s0, s1, s2, _rotl_array(s3, 45)]
        return result

    def attempt(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                               npt.NDArray[np.float64]]:
        first, second = self.next(), self.next()
        outcome = (first >> np.uint64(32)).astype(np.float64) * TWO_TO_MINUS_32
        label = (first & np.uint64(0xFFFFFFFF)).astype(np.float64) * TWO_TO_MINUS_32
        duration = (second >> np.uint64(11)).astype(np.float64) * TWO_TO_MINUS_53
        return outcome, label, duration


def _splitmix_array(x: Words) -> Words:
    z = x ^ (x >> np.uint64(30))
    z = z * np.uint64(_MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
    mixed: Words = z ^ (z >> np.uint64(31))
    return mixed


def _rotl_array(x: Words, k: int) -> Words:
    rotated: Words = (x << np.uint64(k)) | (x >> np.uint64(64 - k))
    return rotated
