"""The model's own definition type: a small, immutable, versioned graph.

The spec never reads relentless definitions; tests convert them into these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

RESERVED_LABEL: Final = "timeout"
"""Only the engine takes this label (attempts exhausted, deadline passed)."""

FAILED_LABEL: Final = "failed"
"""Only the engine takes this label (the last attempt failed, or a failure was final)."""

RESERVED_LABELS: Final = frozenset({RESERVED_LABEL, FAILED_LABEL})
"""The labels never offered to a worker and never accepted from one."""


class GraphError(ValueError):
    """A graph that no definition compiler would accept."""


@dataclass(frozen=True, slots=True)
class Node:
    """One node: an operation, its outgoing edges (label -> target) and its timers.

    Times are integer ticks. ``timeout`` bounds one attempt from its lease,
    ``attempts`` (>= 1) bounds the attempts of one step, ``backoff`` delays each
    retry, ``deadline`` (None: no deadline) bounds a whole step from its creation.
    A node without edges is a leaf.
    """

    operation: str | None = None
    on: Mapping[str, str] = field(default_factory=dict)
    timeout: int = 1
    attempts: int = 1
    backoff: int = 0
    deadline: int | None = None
    manual: bool = False
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        frozen = MappingProxyType(dict(self.on))
        object.__setattr__(self, "on", frozen)
        object.__setattr__(self, "_hash", hash(self._key()))
        self._validate()

    def __hash__(self) -> int:
        return self._hash

    def _key(self) -> tuple[object, ...]:
        edges = frozenset(self.on.items())
        timers = (self.timeout, self.attempts, self.backoff, self.deadline)
        return (self.operation, edges, timers, self.manual)

    def _validate(self) -> None:
        if self.on and not self.operation:
            raise GraphError("a node with edges needs an operation")
        if self.timeout < 1 or self.attempts < 1 or self.backoff < 0:
            raise GraphError("timeout and attempts must be >= 1, backoff >= 0")
        if self.deadline is not None and self.deadline < 1:
            raise GraphError("a deadline must be >= 1 tick")

    @property
    def is_leaf(self) -> bool:
        """Reaching a leaf ends the workflow."""
        return not self.on

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels offered to a worker, sorted; never a reserved one."""
        return tuple(sorted(label for label in self.on if label not in RESERVED_LABELS))

    @property
    def routes_timeout(self) -> bool:
        """Whether a timed-out step moves on instead of becoming an incident."""
        return RESERVED_LABEL in self.on

    @property
    def routes_failed(self) -> bool:
        """Whether a failed step moves on (along ``failed``) instead of becoming an incident."""
        return FAILED_LABEL in self.on


@dataclass(frozen=True, slots=True)
class Graph:
    """One immutable version of a definition: nodes by name and the start node."""

    name: str
    version: int
    start: str
    nodes: Mapping[str, Node]
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", MappingProxyType(dict(self.nodes)))
        key = (self.name, self.version, self.start, frozenset(self.nodes.items()))
        object.__setattr__(self, "_hash", hash(key))
        self._validate()

    def __hash__(self) -> int:
        return self._hash

    def _validate(self) -> None:
        if self.start not in self.nodes:
            raise GraphError(f"start node {self.start!r} is not a node")
        for name, node in self.nodes.items():
            missing = set(node.on.values()) - set(self.nodes)
            if missing:
                raise GraphError(f"node {name!r} leads to unknown nodes {sorted(missing)}")

    def node(self, name: str) -> Node:
        """The node called ``name`` (KeyError if there is none)."""
        return self.nodes[name]

    @property
    def operations(self) -> frozenset[str]:
        """Every operation a worker (or a person) may be asked to perform."""
        return frozenset(node.operation for node in self.nodes.values() if node.operation)
