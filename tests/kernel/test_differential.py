"""The Cython kernel, the NumPy reference and a naive walk of the definition agree."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from relentless import CompiledDefinition, Status, advance, allocate_outputs
from relentless.core import reference
from relentless.core.registry import pack
from tests.kernel.naive import naive_advance
from tests.kernel.strategies import batches, compiled_definitions


def _run(implementation, tables, def_ids, nodes, labels):  # type: ignore[no-untyped-def]
    out_next, out_status = allocate_outputs(len(def_ids))
    moved = implementation(tables, def_ids, nodes, labels, out_next, out_status)
    return moved, out_next, out_status


@given(st.data())
def test_kernel_reference_and_naive_walk_agree_on_every_row(data: st.DataObject) -> None:
    compiled: list[CompiledDefinition] = data.draw(compiled_definitions())
    def_ids, nodes, labels = data.draw(batches(compiled))
    tables = pack(compiled)

    moved, kernel_next, kernel_status = _run(advance, tables, def_ids, nodes, labels)
    ref_moved, ref_next, ref_status = _run(reference.advance, tables, def_ids, nodes, labels)

    expected = [naive_advance(compiled, *map(int, row)) for row in zip(def_ids, nodes, labels,
                                                                        strict=True)]
    assert kernel_next.tolist() == ref_next.tolist() == [target for target, _ in expected]
    assert kernel_status.tolist() == ref_status.tolist() == [status for _, status in expected]
    moving = {Status.ADVANCED, Status.REACHED_LEAF}
    assert moved == ref_moved == sum(status in moving for _, status in expected)


@given(compiled_definitions(), st.integers(0, 2**32 - 1))
def test_walks_from_start_agree_step_by_step(compiled: list[CompiledDefinition],
                                             seed: int) -> None:
    """Many workflows walked to the end with random offered labels, one kernel call a step."""
    rng = np.random.default_rng(seed)
    tables = pack(compiled)
    def_ids = rng.integers(0, len(compiled), 64).astype(np.int32)
    position = np.array([compiled[d].start for d in def_ids], dtype=np.int32)
    names = [compiled[d].node_names[n] for d, n in zip(def_ids, position, strict=True)]
    for _ in range(30):
        labels = np.array([_random_offered(compiled[d], n, rng)
                           for d, n in zip(def_ids, position, strict=True)], dtype=np.int32)
        _, kernel_next, kernel_status = _run(advance, tables, def_ids, position, labels)
        _, ref_next, ref_status = _run(reference.advance, tables, def_ids, position, labels)
        assert np.array_equal(kernel_next, ref_next)
        assert np.array_equal(kernel_status, ref_status)
        for row, status in enumerate(kernel_status):
            definition = compiled[def_ids[row]].definition
            current = definition.nodes[names[row]]
            if current.is_leaf:
                assert status == Status.LABEL_NOT_OFFERED
                continue
            names[row] = current.on[compiled[def_ids[row]].label_names[labels[row]]]
            expected = Status.REACHED_LEAF if definition.nodes[names[row]].is_leaf else \
                Status.ADVANCED
            assert status == expected
        position = np.where(kernel_next >= 0, kernel_next, position).astype(np.int32)
        assert [compiled[d].node_names[n] for d, n in zip(def_ids, position, strict=True)] == names


def _random_offered(compiled: CompiledDefinition, node: int, rng: np.random.Generator) -> int:
    """Any label the node routes (the reserved one included), or 0 at a leaf."""
    offered = np.flatnonzero(compiled.next[node] >= 0)
    return int(rng.choice(offered)) if len(offered) else 0


@settings(max_examples=10)
@given(compiled_definitions(), st.integers(0, 2**32 - 1))
def test_large_batches_released_from_the_gil_agree_with_the_reference(
    compiled: list[CompiledDefinition], seed: int
) -> None:
    """Batches above the no-GIL threshold take the other branch of the kernel."""
    rng = np.random.default_rng(seed)
    tables = pack(compiled)
    rows = 50_000
    def_ids = rng.integers(-1, len(compiled) + 1, rows).astype(np.int32)
    nodes = rng.integers(-1, max(len(c.node_names) for c in compiled) + 1, rows).astype(np.int32)
    labels = rng.integers(-1, max(len(c.label_names) for c in compiled) + 1,
                          rows).astype(np.int32)
    moved, kernel_next, kernel_status = _run(advance, tables, def_ids, nodes, labels)
    ref_moved, ref_next, ref_status = _run(reference.advance, tables, def_ids, nodes, labels)
    assert moved == ref_moved
    assert np.array_equal(kernel_next, ref_next)
    assert np.array_equal(kernel_status, ref_status)
    assert Status.INVALID_ID in kernel_status
