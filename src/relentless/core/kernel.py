"""The Cython transition kernel behind a checked Python call.

This is the only module that imports the compiled extension. A missing extension is
an installation fault and is reported as one: there is no silent fallback to the
slower NumPy reference.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from relentless.core.batch import check_batch
from relentless.core.registry import PackedTables
from relentless.errors import InternalError, KernelUnavailable

try:
    from relentless import _kernel
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise KernelUnavailable(
        "the compiled transition kernel (relentless._kernel) is missing or does not load "
        f"({exc}); rebuild it with `pip install -e .` (needs a C compiler, Cython and NumPy)"
    ) from exc

_BAD_BATCH = -2
_FAILURES = {
    -1: "packed tables have the wrong types or lengths; build them with registry.pack",
    _BAD_BATCH: "the kernel refused its tables, or a batch that passes every check",
    -3: "packed tables point outside their own arrays; build them with registry.pack",
}


def advance(
    tables: PackedTables,
    def_ids: npt.NDArray[np.int32],
    nodes: npt.NDArray[np.int32],
    labels: npt.NDArray[np.int32],
    out_next: npt.NDArray[np.int32],
    out_status: npt.NDArray[np.uint8],
) -> int:
    """Write each row's next node and status; return how many rows moved.

    The GIL is released for large batches. Outputs are preallocated by the caller
    (see ``allocate_outputs``) so a hot loop allocates nothing.
    """
    try:
        moved: int = _kernel.advance(tables, def_ids, nodes, labels, out_next, out_status)
    except TypeError:  # an argument is not an ndarray at all
        moved = _BAD_BATCH
    if moved < 0:
        if moved == _BAD_BATCH:  # say which array is wrong, as the reference does
            check_batch(def_ids=def_ids, nodes=nodes, labels=labels,
                        out_next=out_next, out_status=out_status)
        raise InternalError(_FAILURES.get(moved, f"unknown kernel failure {moved}"))
    return moved
