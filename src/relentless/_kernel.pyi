from typing import Any

import numpy as np
import numpy.typing as npt

def advance(
    tables: Any,
    def_ids: npt.NDArray[np.int32],
    nodes: npt.NDArray[np.int32],
    labels: npt.NDArray[np.int32],
    out_next: npt.NDArray[np.int32],
    out_status: npt.NDArray[np.uint8],
) -> int: ...
