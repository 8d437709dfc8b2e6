"""Compiling definitions into dense tables, and packing many of them into one registry."""

from __future__ import annotations

import numpy as np
import pytest

from relentless import (
    RESERVED_LABEL,
    CompiledDefinition,
    Definition,
    Registry,
    compile_definition,
    definition_from_data,
    parse_definition,
)
from relentless.core.compiler import NO_DEADLINE, NO_EDGE, TIMEOUT_LABEL
from relentless.core.registry import pack
from relentless.core.source import parse_text

SMALL = """\
name: small
start: work
defaults:
  timeout: 10s
  attempts: 4
nodes:
  work:
    operation: do_work
    deadline: 1h
    backoff: {initial: 2s, multiplier: 3, max: 1m}
    on:
      ok: done
      retry: work
  done: {}
"""


@pytest.fixture(scope="module")
def compiled(payment: Definition) -> CompiledDefinition:
    return compile_definition(payment)


def test_nodes_and_labels_are_numbered_in_name_order_with_timeout_first(
    compiled: CompiledDefinition, payment: Definition,
) -> None:
    assert compiled.node_names == tuple(sorted(payment.nodes))
    assert compiled.label_names[TIMEOUT_LABEL] == RESERVED_LABEL == "timeout"
    others = {label for node in payment.nodes.values() for label in node.on} - {"timeout"}
    assert compiled.label_names[1:] == tuple(sorted(others))
    assert dict(compiled.node_index) == {n: i for i, n in enumerate(compiled.node_names)}
    assert dict(compiled.label_index) == {n: i for i, n in enumerate(compiled.label_names)}


def test_timeout_is_label_zero_even_when_no_node_routes_it() -> None:
    compiled = compile_definition(parse_definition(SMALL))
    assert compiled.label_names == ("timeout", "ok", "retry")
    assert (compiled.next[:, TIMEOUT_LABEL] == NO_EDGE).all()


def test_the_next_table_holds_every_edge_and_no_edge_elsewhere(
    compiled: CompiledDefinition, payment: Definition,
) -> None:
    assert compiled.next.shape == (len(payment.nodes), len(compiled.label_names))
    assert compiled.next.dtype == np.int32
    for row, name in enumerate(compiled.node_names):
        for column, label in enumerate(compiled.label_names):
            target = payment.nodes[name].on.get(label)
            expected = NO_EDGE if target is None else compiled.node_index[target]
            assert compiled.next[row, column] == expected, (name, label)


def test_the_payment_tables_route_as_the_file_says(compiled: CompiledDefinition) -> None:
    node, label = compiled.node_index, compiled.label_index
    assert compiled.next[node["charge"], label["ok"]] == node["ship"]
    assert compiled.next[node["charge"], TIMEOUT_LABEL] == node["escalate"]
    assert compiled.next[node["escalate"], label["refund"]] == node["refund"]
    assert compiled.next[node["ship"], label["ok"]] == NO_EDGE
    assert compiled.start == node["charge"]
    assert int((compiled.next >= 0).sum()) == 11


def test_leaves_are_flagged_and_have_no_edges(compiled: CompiledDefinition) -> None:
    leaves = {name for name, flag in zip(compiled.node_names, compiled.is_leaf, strict=True)
              if flag}
    assert leaves == {"done", "refunded", "declined"}
    assert (compiled.next[compiled.is_leaf] == NO_EDGE).all()
    assert (compiled.next[~compiled.is_leaf] >= 0).any(axis=1).all()


def test_per_node_arrays_follow_the_definition(compiled: CompiledDefinition) -> None:
    index = compiled.node_index
    assert compiled.timeout_ms[index["charge"]] == 30_000
    assert compiled.attempts[index["charge"]] == 3
    assert compiled.deadline_ms[index["charge"]] == NO_DEADLINE == -1
    assert compiled.manual[index["escalate"]]
    assert not compiled.manual[index["charge"]]
    assert compiled.operations[index["escalate"]] == "manual_review"
    assert compiled.operations[index["done"]] is None
    assert compiled.backoff_initial_ms[index["charge"]] == 1_000
    assert compiled.backoff_multiplier[index["charge"]] == 1.0
    assert compiled.backoff_max_ms[index["charge"]] == -1


def test_settings_of_a_node_reach_its_arrays() -> None:
    compiled = compile_definition(parse_definition(SMALL))
    work = compiled.node_index["work"]
    assert (compiled.timeout_ms[work], compiled.attempts[work], compiled.deadline_ms[work]) == (
        10_000, 4, 3_600_000)
    assert (compiled.backoff_initial_ms[work], compiled.backoff_multiplier[work],
            compiled.backoff_max_ms[work]) == (2_000, 3.0, 60_000)
    assert compiled.next[work, compiled.label_index["retry"]] == work


def test_per_node_arrays_have_one_entry_per_node_and_fixed_dtypes(
    compiled: CompiledDefinition,
) -> None:
    dtypes = {
        "is_leaf": np.bool_, "manual": np.bool_, "timeout_ms": np.int64, "attempts": np.int32,
        "backoff_initial_ms": np.int64, "backoff_multiplier": np.float64,
        "backoff_max_ms": np.int64, "deadline_ms": np.int64,
    }
    for name, dtype in dtypes.items():
        array = getattr(compiled, name)
        assert array.shape == (len(compiled.node_names),), name
        assert array.dtype == dtype, name


@pytest.mark.parametrize("name", ["next", "is_leaf", "manual", "timeout_ms", "attempts",
                                  "backoff_initial_ms", "backoff_multiplier", "backoff_max_ms",
                                  "deadline_ms"])
def test_compiled_arrays_are_read_only(compiled: CompiledDefinition, name: str) -> None:
    array = getattr(compiled, name)
    assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        array[0] = array[0]


def test_compiled_indexes_cannot_be_changed(compiled: CompiledDefinition) -> None:
    with pytest.raises(TypeError):
        compiled.node_index["extra"] = 99  # type: ignore[index]


def test_offered_labels_are_the_edges_except_timeout(
    compiled: CompiledDefinition, payment: Definition,
) -> None:
    for name, node in payment.nodes.items():
        offered = compiled.offered_labels(compiled.node_index[name])
        assert set(offered) == set(node.on) - {"timeout"}, name
        assert set(offered) == set(node.offered_labels), name
    assert set(compiled.offered_labels(compiled.node_index["charge"])) == {
        "ok", "declined", "error"}
    assert compiled.offered_labels(compiled.node_index["done"]) == ()


def test_the_compiled_definition_keeps_the_name_and_fingerprint(
    compiled: CompiledDefinition, payment: Definition,
) -> None:
    assert (compiled.name, compiled.fingerprint) == (payment.name, payment.fingerprint)


def test_equal_content_in_another_order_compiles_to_equal_tables(
    compiled: CompiledDefinition, payment_text: str,
) -> None:
    data = parse_text(payment_text, "yaml")
    nodes = {name: data["nodes"][name] for name in reversed(list(data["nodes"]))}
    again = compile_definition(definition_from_data({**data, "nodes": nodes}))
    assert list(again.definition.nodes) != list(compiled.definition.nodes)
    assert again.node_names == compiled.node_names
    assert again.label_names == compiled.label_names
    assert np.array_equal(again.next, compiled.next)


# registry and packing


def test_the_registry_gives_the_same_id_to_the_same_content(payment: Definition,
                                                           payment_text: str) -> None:
    registry = Registry()
    first = registry.add(compile_definition(payment))
    respelled = parse_definition(payment_text.replace("30s", "30000ms"))
    assert registry.add(compile_definition(respelled)) == first
    assert len(registry) == 1


def test_the_registry_gives_new_content_a_new_id(payment: Definition) -> None:
    registry = Registry()
    small = compile_definition(parse_definition(SMALL))
    ids = (registry.add(compile_definition(payment)), registry.add(small))
    assert ids == (0, 1)
    assert registry[1] is small
    assert len(registry) == 2


def test_registry_tables_are_repacked_after_an_add(payment: Definition) -> None:
    registry = Registry()
    registry.add(compile_definition(payment))
    assert registry.tables.definition_count == 1
    registry.add(compile_definition(parse_definition(SMALL)))
    assert registry.tables.definition_count == 2


def test_packed_offsets_and_counts_match_each_definitions_tables(payment: Definition) -> None:
    definitions = [
        compile_definition(payment),
        compile_definition(parse_definition(SMALL)),
        compile_definition(parse_definition(SMALL.replace("retry: work", "retry: done"))),
    ]
    tables = pack(definitions)
    assert tables.definition_count == 3
    for index, compiled in enumerate(definitions):
        nodes, labels = compiled.next.shape
        assert (tables.node_count[index], tables.label_count[index]) == (nodes, labels)
        start = tables.next_offset[index]
        flat = tables.next_flat[start:start + nodes * labels]
        assert np.array_equal(flat.reshape(nodes, labels), compiled.next)
        leaf_start = tables.node_offset[index]
        leaves = tables.leaf_flat[leaf_start:leaf_start + nodes]
        assert np.array_equal(leaves.astype(bool), compiled.is_leaf)
    sizes = tables.node_count.astype(np.int64) * tables.label_count
    assert len(tables.next_flat) == sizes.sum()
    assert len(tables.leaf_flat) == tables.node_count.sum()


def test_packed_arrays_are_read_only_and_contiguous(payment: Definition) -> None:
    tables = pack([compile_definition(payment), compile_definition(parse_definition(SMALL))])
    for array in (tables.next_flat, tables.next_offset, tables.node_count, tables.label_count,
                  tables.leaf_flat, tables.node_offset):
        assert not array.flags.writeable
        assert array.flags.c_contiguous
    dtypes = [array.dtype for array in (tables.next_flat, tables.leaf_flat, tables.next_offset,
                                        tables.node_offset)]
    assert dtypes == [np.dtype(np.int32), np.dtype(np.uint8), np.dtype(np.int64),
                      np.dtype(np.int64)]


def test_packing_nothing_gives_empty_tables() -> None:
    tables = pack([])
    assert tables.definition_count == 0
    assert len(tables.next_flat) == len(tables.leaf_flat) == len(tables.next_offset) == 0
