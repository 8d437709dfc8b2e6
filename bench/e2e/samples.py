"""Timestamps taken in the worker processes, and the latencies and rates made of them.

Every time is ``time.monotonic()``: CLOCK_MONOTONIC is one clock for every process of
the machine, so a step made ready in one process and leased in another can be
compared. Each system records the same three things, as its user sees them:

- *ready*: the moment the client learns that a step is durably ready: Relentless,
  the completion of the step before it acknowledged; the queues, the enqueue of the
  job returned (committed); DBOS, the step before it returned (its checkpoint is
  written before the next step starts, so DBOS's figure includes that write).
- *leased*: the moment a worker holds the step: the lease answer decoded
  (Relentless), the handler started (the queues, DBOS).
- *round trip*: the write that decides a step, from sent to acknowledged:
  Relentless, the complete request (every completion of a batch counts once); the
  queues, the enqueue of the next job; DBOS has no such call a user makes.

Lease latency is leased(w, s) - ready(w, s) for every step s with a ready time; the
first step of a workflow has none (its start is the harness's, not a worker's).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from time import monotonic

Key = tuple[int, int]
"""(workflow, step): a step of one workflow, the same in every process."""


@dataclass(slots=True)
class Recorder:
    """What one worker process saw; sent to the parent when the run ends."""

    leased: dict[Key, float] = field(default_factory=dict)
    ready: dict[Key, float] = field(default_factory=dict)
    round_trips: list[float] = field(default_factory=list)
    first: float = math.inf
    last: float = -math.inf
    steps: int = 0

    def lease(self, key: Key, at: float | None = None) -> None:
        at = monotonic() if at is None else at
        self.leased[key] = at
        self.first = min(self.first, at)

    def made_ready(self, key: Key, at: float) -> None:
        self.ready[key] = at

    def round_trip(self, seconds: float, count: int = 1) -> None:
        """One write that decided ``count`` steps took ``seconds`` from sent to acknowledged."""
        self.round_trips.extend([seconds] * count)

    def done(self, count: int, at: float) -> None:
        """``count`` steps are finished for good (acknowledged) at ``at``."""
        self.steps += count
        self.last = max(self.last, at)


@dataclass(frozen=True, slots=True)
class Summary:
    """What a run measured: the window from the first lease to the last acknowledgement."""

    steps: int
    seconds: float
    lease_ms: Percentiles
    round_trip_ms: Percentiles

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Percentiles:
    """p50 and p99 of a list of durations, in milliseconds (None where nothing was measured)."""

    p50: float | None
    p99: float | None
    count: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Percentiles:
        if not seconds:
            return cls(None, None, 0)
        ordered = sorted(seconds)
        return cls(round(quantile(ordered, 0.5) * 1000, 2),
                   round(quantile(ordered, 0.99) * 1000, 2), len(ordered))

    def as_dict(self) -> dict[str, float | int | None]:
        return {"p50": self.p50, "p99": self.p99, "count": self.count}


def quantile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank quantile of sorted values: a value that was really measured."""
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def summarise(recorders: Iterable[Recorder]) -> Summary:
    """Join what every process saw: a step may be made ready in one and leased in another."""
    recorders = list(recorders)
    ready: dict[Key, float] = {}
    for recorder in recorders:
        ready.update(recorder.ready)
    waits = [at - ready[key] for recorder in recorders for key, at in recorder.leased.items()
             if key in ready]
    first = min((r.first for r in recorders), default=math.inf)
    last = max((r.last for r in recorders), default=-math.inf)
    return Summary(sum(r.steps for r in recorders), max(last - first, 0.0),
                   Percentiles.of(waits),
                   Percentiles.of([t for r in recorders for t in r.round_trips]))


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max, rounded to whole units (steps per second)."""
    return {"median": round(statistics.median(values)), "min": round(min(values)),
            "max": round(max(values))}
