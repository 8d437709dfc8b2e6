"""Hypothesis strategies for random valid definitions and random batches over them."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from relentless import RESERVED_LABEL, CompiledDefinition, compile_definition
from relentless.core.reader import definition_from_data

LABELS = ("ok", "error", "again", "give_up", "retry", "refund", "done_it", RESERVED_LABEL)


@st.composite
def definition_data(draw: st.DrawFn, max_steps: int = 8) -> dict[str, Any]:
    """Plain data of a valid definition: cycles allowed, every node reachable, no trap.

    Steps are chained s0 -> s1 -> ... -> a leaf by the label ``next`` (so that every
    node is reachable and can finish); other edges go anywhere, cycles included.
    """
    steps = draw(st.integers(1, max_steps))
    leaves = draw(st.integers(1, 3))
    step_names = [f"s{i}" for i in range(steps)]
    leaf_names = [f"leaf{i}" for i in range(leaves)]
    everything = step_names + leaf_names
    nodes: dict[str, Any] = {}
    for index, name in enumerate(step_names):
        chained = step_names[index + 1] if index + 1 < steps else leaf_names[0]
        extra = draw(st.dictionaries(st.sampled_from(LABELS), st.sampled_from(everything),
                                     max_size=4))
        nodes[name] = {"operation": f"op{index % 3}", "on": {**extra, "next": chained}}
    for leaf in leaf_names[1:]:
        source = draw(st.sampled_from(step_names))
        nodes[source]["on"][f"to_{leaf}"] = leaf
    nodes.update({leaf: {} for leaf in leaf_names})
    return {"name": draw(st.sampled_from(["pay", "ship", "kyc"])), "start": "s0", "nodes": nodes}


@st.composite
def compiled_definitions(draw: st.DrawFn) -> list[CompiledDefinition]:
    """One to four compiled definitions, to be packed together."""
    datas = draw(st.lists(definition_data(), min_size=1, max_size=4))
    return [compile_definition(definition_from_data(data)) for data in datas]


@st.composite
def batches(draw: st.DrawFn, compiled: list[CompiledDefinition]) -> tuple[np.ndarray, ...]:
    """Rows mostly inside the tables, some outside: unknown definitions, nodes and labels."""
    rows = draw(st.integers(0, 60))
    widest_nodes = max(len(c.node_names) for c in compiled)
    widest_labels = max(len(c.label_names) for c in compiled)
    int32 = st.integers(-(2**31), 2**31 - 1)
    def_ids = draw(st.lists(st.one_of(st.integers(-1, len(compiled)), int32),
                            min_size=rows, max_size=rows))
    nodes = draw(st.lists(st.one_of(st.integers(-1, widest_nodes), int32),
                          min_size=rows, max_size=rows))
    labels = draw(st.lists(st.one_of(st.integers(-1, widest_labels), int32),
                           min_size=rows, max_size=rows))
    return tuple(np.array(values, dtype=np.int32) for values in (def_ids, nodes, labels))
