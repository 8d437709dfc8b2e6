"""Bad batches and bad tables get clear errors from both implementations; nothing is read
out of bounds."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from collections.abc import Callable

import numpy as np
import pytest

from relentless import BatchShapeError, InternalError, Registry, advance, compile_definition
from relentless.core import reference
from relentless.core.reader import load_definition
from relentless.core.registry import PackedTables

IMPLEMENTATIONS = [pytest.param(advance, id="cython"), pytest.param(reference.advance, id="numpy")]
Advance = Callable[..., int]


@pytest.fixture(scope="module")
def tables() -> PackedTables:
    registry = Registry()
    registry.add(compile_definition(load_definition("examples/payment.yaml")))
    return registry.tables


def _batch(rows: int = 4) -> dict[str, np.ndarray]:
    return {
        "def_ids": np.zeros(rows, np.int32), "nodes": np.zeros(rows, np.int32),
        "labels": np.zeros(rows, np.int32), "out_next": np.zeros(rows, np.int32),
        "out_status": np.zeros(rows, np.uint8),
    }


def _call(implementation: Advance, tables: PackedTables, batch: dict[str, np.ndarray]) -> int:
    return implementation(tables, batch["def_ids"], batch["nodes"], batch["labels"],
                          batch["out_next"], batch["out_status"])


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    ("name", "replacement", "message"),
    [
        ("def_ids", np.zeros(4, np.int64), "def_ids must be a 1-d int32 array"),
        ("labels", [0, 0, 0, 0], "labels must be a 1-d int32 array, not list"),
        ("nodes", np.zeros((2, 2), np.int32), "nodes must be a 1-d int32 array"),
        ("out_status", np.zeros(4, np.int32), "out_status must be a 1-d uint8 array"),
        ("out_next", np.zeros(5, np.int32), "out_next has 5 rows, def_ids has 4"),
        ("nodes", np.zeros(8, np.int32)[::2], "nodes must be C-contiguous"),
    ],
)
def test_malformed_batch_is_refused_with_the_array_named(
    implementation: Advance, tables: PackedTables, name: str, replacement: object, message: str
) -> None:
    batch = _batch()
    batch[name] = replacement  # type: ignore[assignment]
    with pytest.raises(BatchShapeError, match=message):
        _call(implementation, tables, batch)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_read_only_output_is_refused(implementation: Advance, tables: PackedTables) -> None:
    batch = _batch()
    batch["out_next"].setflags(write=False)
    with pytest.raises(BatchShapeError, match="out_next is read-only"):
        _call(implementation, tables, batch)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_empty_batch_moves_nothing(implementation: Advance, tables: PackedTables) -> None:
    assert _call(implementation, tables, _batch(0)) == 0


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_no_definitions_makes_every_row_invalid(implementation: Advance) -> None:
    batch = _batch()
    assert _call(implementation, Registry().tables, batch) == 0
    assert batch["out_status"].tolist() == [3, 3, 3, 3]
    assert batch["out_next"].tolist() == [-1, -1, -1, -1]


def test_tables_of_the_wrong_type_are_an_internal_error(tables: PackedTables) -> None:
    wrong = dataclasses.replace(tables, next_offset=tables.next_offset.astype(np.int32))
    with pytest.raises(InternalError, match="wrong types or lengths"):
        _call(advance, wrong, _batch())


def test_tables_pointing_outside_their_arrays_are_an_internal_error(
    tables: PackedTables,
) -> None:
    """A corrupted offset must raise, never read past the end of the table."""
    corrupt = dataclasses.replace(tables, next_offset=np.array([10**9], dtype=np.int64))
    with pytest.raises(InternalError, match="point outside their own arrays"):
        _call(advance, corrupt, _batch())


def test_missing_extension_is_reported_not_replaced_by_the_reference() -> None:
    """Without the compiled kernel the kernel refuses to import, saying how to fix it (the
    rest of the package imports: a worker needs no kernel)."""
    script = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "relentless._kernel":
                    raise ImportError("blocked for the test")
        sys.meta_path.insert(0, Block())
        try:
            from relentless import advance
        except Exception as exc:
            print(type(exc).__name__, exc)
        else:
            print("imported")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.startswith("KernelUnavailable")
    assert "pip install -e ." in result.stdout
