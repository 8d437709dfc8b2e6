"""The engine's step rules as the simulators and the analysis apply them, in one place.

A step at a node runs attempts. An attempt completes with a label, fails (the worker
says so) or is lost; one that has not completed or failed by the node's ``timeout``
expires. Failed and expired attempts use up the node's ``attempts``; the next one is
ready after ``Backoff.delay_ms(attempts used)``, shortened by the node's jitter
(``Backoff.jittered_ms``, the engine's own rule). When the last attempt expires the
step gives up with ``timeout``; when it fails, with ``failed``; a failure that is not
retryable (``retryable: false``, ``PermanentFailure``) gives up with ``failed`` at once.
A node ``deadline`` ends the step when it passes, whatever is running, with ``timeout``.
A give-up label the node does not route makes the workflow an incident. Manual steps
are never leased, so they neither expire nor fail: only their deadline ends them early.

The reserved label ``failed`` has a column in the compiled tables only if some node
routes it, and a node routes it only if it has an edge of that name (the engine's
give-ups look it up the same way), which is all that :func:`failed_label` and
:func:`routes_failed` decide.
"""

from __future__ import annotations

from enum import IntEnum

from relentless.core.compiler import CompiledDefinition
from relentless.core.definition import Backoff, Node
from relentless.errors import UserError

FAILED_LABEL = "failed"
"""The give-up label of a step whose last attempt failed, or whose failure was final."""

NO_LABEL = -1
"""A give-up label the definition cannot route at all: the step becomes an incident."""

NEVER_MS = 2**62
"""No timeout or no deadline: later than any simulated time (and far from overflow)."""

BACKOFF_TABLE_LIMIT = 65_536
"""Retry delays tabulated per node; beyond them the delay must have stopped changing."""


class AttemptEnd(IntEnum):
    """How one attempt ended."""

    COMPLETED = 0
    FAILED = 1
    EXPIRED = 2
    FAILED_PERMANENTLY = 3


class TooLongToSimulate(UserError):
    """The definition's backoff or clock range is beyond what the simulator tabulates."""


def failed_label(compiled: CompiledDefinition) -> int:
    """The label id a failed give-up takes, or ``NO_LABEL`` if no node routes ``failed``."""
    return compiled.label_index.get(FAILED_LABEL, NO_LABEL)


def routes_failed(node: Node) -> bool:
    """Whether a step at ``node`` whose last attempt failed continues along an edge."""
    return FAILED_LABEL in node.on


def attempt_end(failed: bool, lost: bool, duration_ms: int, timeout_ms: int,
                permanent: bool = False) -> AttemptEnd:
    """An attempt that fails or completes after ``duration_ms`` expires if that is too late."""
    if lost or duration_ms >= timeout_ms:
        return AttemptEnd.EXPIRED
    if permanent:
        return AttemptEnd.FAILED_PERMANENTLY
    return AttemptEnd.FAILED if failed else AttemptEnd.COMPLETED


LARGEST_UNIFORM = 1.0 - 2.0**-53
"""The largest value ``random.random()`` returns: the most a jitter can shorten by."""


def least_delay_ms(backoff: Backoff, delay_ms: int) -> int:
    """The shortest ``delay_ms`` can become once jittered."""
    return backoff.jittered_ms(delay_ms, LARGEST_UNIFORM)


def backoff_delays(backoff: Backoff, retries: int) -> list[int]:
    """``delay_ms(1..n)`` up to ``retries``, stopping early once the delay cannot change.

    The delay before attempt ``k + 1`` is entry ``min(k, len) - 1``. It stops changing
    at its cap, or at once when the multiplier is 1 or the initial delay is 0.
    """
    cap = backoff.max_ms
    delays: list[int] = []
    for failed in range(1, retries + 1):
        delay = backoff.delay_ms(failed)
        delays.append(delay)
        if backoff.multiplier == 1.0 or delay == 0 or (cap is not None and delay >= cap):
            break
        if len(delays) >= BACKOFF_TABLE_LIMIT:
            raise TooLongToSimulate(
                f"the backoff {backoff} still grows after {BACKOFF_TABLE_LIMIT:,} attempts; "
                "give it a max (backoff: {initial, multiplier, max})")
    return delays


def total_backoff_ms(backoff: Backoff, retries: int, least: bool = False) -> int:
    """The sum of the delays before attempts 2 to ``retries + 1``, exactly; with ``least``,
    of the shortest each can be after its jitter."""
    delays = backoff_delays(backoff, retries)
    if least:
        delays = [least_delay_ms(backoff, delay) for delay in delays]
    if not delays:
        return 0
    return sum(delays) + (retries - len(delays)) * delays[-1]
