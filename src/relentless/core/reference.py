"""The NumPy twin of the Cython kernel: same signature, same answers, obviously right.

Tests hold the two to identical outputs; the reference is for them and for reading,
not for production batches.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from relentless.core.batch import check_batch
from relentless.core.registry import PackedTables
from relentless.core.status import NO_NEXT, Status


def advance(
    tables: PackedTables,
    def_ids: npt.NDArray[np.int32],
    nodes: npt.NDArray[np.int32],
    labels: npt.NDArray[np.int32],
    out_next: npt.NDArray[np.int32],
    out_status: npt.NDArray[np.uint8],
) -> int:
    """Write each row's next node and status; return how many rows moved."""
    check_batch(def_ids=def_ids, nodes=nodes, labels=labels,
                out_next=out_next, out_status=out_status)
    if tables.definition_count == 0:
        out_next.fill(NO_NEXT)
        out_status.fill(Status.INVALID_ID)
        return 0
    known = (def_ids >= 0) & (def_ids < tables.definition_count)
    definition = np.where(known, def_ids, 0)
    width = tables.label_count[definition].astype(np.int64)
    valid = (known & (nodes >= 0) & (nodes < tables.node_count[definition])
             & (labels >= 0) & (labels < width))
    cell = tables.next_offset[definition] + np.where(valid, nodes * width + labels, 0)
    target = np.where(valid, tables.next_flat[cell], NO_NEXT)
    offered = target >= 0
    leaf = np.zeros(len(target), dtype=bool)
    leaf[offered] = tables.leaf_flat[tables.node_offset[definition[offered]] + target[offered]]
    out_next[:] = target
    out_status[:] = np.select(
        [~valid, ~offered, leaf],
        [Status.INVALID_ID, Status.LABEL_NOT_OFFERED, Status.REACHED_LEAF],
        Status.ADVANCED,
    )
    return int(np.count_nonzero(offered))
