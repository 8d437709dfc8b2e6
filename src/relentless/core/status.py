"""What the transition kernel answers for each row of a batch."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Per-row outcome; the codes the kernel writes (engine_ext/kernel_types.pxd)."""

    ADVANCED = 0
    """The label's edge leads to a node with work to do."""
    REACHED_LEAF = 1
    """The label's edge leads to a leaf: the workflow is complete."""
    LABEL_NOT_OFFERED = 2
    """The node has no edge with this label; nothing moves."""
    INVALID_ID = 3
    """The definition, node or label id is outside the tables; nothing moves."""


NO_NEXT = -1
"""``out_next`` of a row that did not move."""
