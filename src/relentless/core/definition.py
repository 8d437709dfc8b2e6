"""Workflow definitions: the validated, immutable form of what a user wrote."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from relentless.core.durations import MAX_DURATION_MS

RESERVED_LABEL = "timeout"
"""The label the engine takes when a step's deadline passes or its last lease runs out."""

FAILED_LABEL = "failed"
"""The label the engine takes when a step's last attempt fails, or a failure is final."""

RESERVED_LABELS = frozenset({RESERVED_LABEL, FAILED_LABEL})
"""Labels only the engine takes (a node may route them); no worker completes with them."""

FORMAT_VERSION = 1
"""Bumped when the meaning of a definition changes, so that fingerprints change with it."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before a retry: ``initial_ms``, times ``multiplier`` per failed attempt, capped.

    ``jitter`` (0 to 1) shortens each delay by up to that share at random, so that many
    workflows failing together do not all retry together; never past the cap.
    """

    initial_ms: int
    multiplier: float = 1.0
    max_ms: int | None = None
    jitter: float = 0.0

    def delay_ms(self, failed_attempts: int) -> int:
        """Delay before the attempt that follows ``failed_attempts`` failures (>= 1).

        Grows geometrically up to ``max_ms`` (or the longest duration there is),
        compared in log space so that a millionth attempt cannot overflow.
        """
        cap = self.max_ms if self.max_ms is not None else MAX_DURATION_MS
        if self.initial_ms == 0 or cap <= self.initial_ms:
            return min(self.initial_ms, cap)
        exponent = max(failed_attempts - 1, 0)
        if exponent * math.log(self.multiplier) >= math.log(cap / self.initial_ms):
            return cap
        return min(int(self.initial_ms * self.multiplier**exponent), cap)

    def jittered_ms(self, delay_ms: int, u: float) -> int:
        """``delay_ms`` shortened by its jitter share times ``u`` (uniform in [0, 1)).

        The engine draws ``u`` from ``random.random()``; the simulators pass a draw of
        their own streams, so both shorten a delay by the same rule.
        """
        return delay_ms - int(delay_ms * self.jitter * u) if self.jitter else delay_ms

    def canonical(self) -> dict[str, Any]:
        """Plain data for fingerprints and storage (``jitter`` only when set, so that older
        definitions keep their fingerprints)."""
        data: dict[str, Any] = {"initial_ms": self.initial_ms, "multiplier": self.multiplier,
                                "max_ms": self.max_ms}
        if self.jitter:
            data["jitter"] = self.jitter
        return data



@dataclass(frozen=True, slots=True)
class Node:
    """One node of the graph: an operation and where each of its labels leads, or a leaf."""

    name: str
    operation: str | None
    on: Mapping[str, str]
    timeout_ms: int
    attempts: int
    backoff: Backoff
    deadline_ms: int | None
    manual: bool
    description: str | None = None

    @property
    def is_leaf(self) -> bool:
        """Reaching a leaf completes the workflow; the leaf's name is its outcome."""
        return self.operation is None and not self.on

    @property
    def offered_labels(self) -> tuple[str, ...]:
        """Labels a worker (or person) may complete this node's step with."""
        return tuple(label for label in self.on if label not in RESERVED_LABELS)

    def canonical(self) -> dict[str, Any]:
        """Plain data for fingerprints and storage."""
        return {
            "operation": self.operation,
            "on": dict(sorted(self.on.items())),
            "timeout_ms": self.timeout_ms,
            "attempts": self.attempts,
            "backoff": self.backoff.canonical(),
            "deadline_ms": self.deadline_ms,
            "manual": self.manual,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Definition:
    """A whole workflow definition, validated: every target exists and a leaf is reachable."""

    name: str
    start: str
    nodes: Mapping[str, Node]
    description: str | None = None
    sla_ms: int | None = None
    """Time from start to leaf a workflow should stay within; None when none is declared."""
    fingerprint: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", MappingProxyType(dict(self.nodes)))
        digest = hashlib.sha256(canonical_json(self.canonical()).encode()).hexdigest()
        object.__setattr__(self, "fingerprint", digest)

    @property
    def leaves(self) -> tuple[str, ...]:
        """Names of the leaves: the outcomes a workflow can end with."""
        return tuple(name for name, node in self.nodes.items() if node.is_leaf)

    def canonical(self) -> dict[str, Any]:
        """Plain data that equals for equal content, whatever the file's format or order.

        ``sla_ms`` appears only when declared, so that definitions written before the
        field existed keep their fingerprints.
        """
        data: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "name": self.name,
            "start": self.start,
            "description": self.description,
            "nodes": {name: self.nodes[name].canonical() for name in sorted(self.nodes)},
        }
        if self.sla_ms is not None:
            data["sla_ms"] = self.sla_ms
        return data


def definition_from_canonical(data: Mapping[str, Any]) -> Definition:
    """Rebuild a stored definition from its canonical form, without validating it again.

    A version was validated when it was published. Loading it must not depend on the
    validation rules of the release that loads it: a stricter release must still run
    the workflows already started on an older version.
    """
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"stored definition has format {data.get('format')!r}; "
                         f"this release reads format {FORMAT_VERSION}")
    nodes = {}
    for name, node in data["nodes"].items():
        backoff = node["backoff"]
        nodes[name] = Node(
            name, node["operation"], dict(node["on"]), node["timeout_ms"], node["attempts"],
            Backoff(backoff["initial_ms"], backoff["multiplier"], backoff["max_ms"],
                    backoff.get("jitter", 0.0)),
            node["deadline_ms"], node["manual"], node["description"])
    return Definition(data["name"], data["start"], nodes, data["description"],
                      data.get("sla_ms"))


def canonical_json(data: Any) -> str:
    """One spelling of ``data`` as JSON, so that equal content hashes equally."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
