from typing import Any

import numpy as np
import numpy.typing as npt

def simulate(
    tables: Any,
    first_run: int,
    seed: int,
    max_steps: int,
    end_node: npt.NDArray[np.int32],
    status: npt.NDArray[np.uint8],
    time_ms: npt.NDArray[np.int64],
    steps: npt.NDArray[np.int32],
    node_time_ms: npt.NDArray[np.int64],
    node_visits: npt.NDArray[np.int64],
    node_attempts: npt.NDArray[np.int64],
) -> int: ...
