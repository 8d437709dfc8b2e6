"""Checks and allocation shared by both kernel implementations."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from relentless.errors import BatchShapeError

_INPUTS = (("def_ids", np.int32), ("nodes", np.int32), ("labels", np.int32))
_OUTPUTS = (("out_next", np.int32), ("out_status", np.uint8))


def check_batch(**arrays: npt.NDArray[np.generic]) -> int:
    """Rows in the batch; raises :class:`BatchShapeError` naming the first bad array."""
    rows = len(arrays["def_ids"]) if getattr(arrays["def_ids"], "ndim", 0) == 1 else -1
    for name, dtype in (*_INPUTS, *_OUTPUTS):
        array = arrays[name]
        if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != 1:
            raise BatchShapeError(f"{name} must be a 1-d {np.dtype(dtype).name} array, "
                                  f"not {_describe(array)}")
        if not array.flags.c_contiguous:
            raise BatchShapeError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
        if len(array) != rows:
            raise BatchShapeError(f"{name} has {len(array)} rows, def_ids has {rows}")
    for name, _ in _OUTPUTS:
        if not arrays[name].flags.writeable:
            raise BatchShapeError(f"{name} is read-only; pass a writable output array")
    return rows


def allocate_outputs(rows: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
    """Output arrays for a batch of ``rows``, to be reused across calls."""
    return np.empty(rows, dtype=np.int32), np.empty(rows, dtype=np.uint8)


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.ndim}-d {value.dtype.name} array"
    return type(value).__name__
