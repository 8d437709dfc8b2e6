"""The Cython loop refuses tables and outputs it cannot trust, instead of reading past them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from relentless import Definition, compile_definition
from relentless.errors import InternalError
from relentless.simulation import native
from relentless.simulation.scenario import Scenario
from relentless.simulation.tables import SimulationTables, build_tables


@pytest.fixture
def tables(payment: Definition, payment_scenario: Scenario) -> SimulationTables:
    return build_tables(compile_definition(payment), payment_scenario, 100)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("timeout_ms", np.zeros(3, np.int64), "wrong types or lengths"),
    ("label_id", np.array([99] * 20, np.int32), "point outside"),
    ("duration_offset", np.full(9, 10**6, np.int64), "point outside"),
    ("start", 50, "point outside"),
    ("fail_below", np.zeros(9, np.float32), "wrong types or lengths"),
])
def test_broken_tables_are_an_internal_error(tables: SimulationTables, field: str,
                                             value: object, message: str) -> None:
    if isinstance(value, np.ndarray) and field == "label_id":
        value = value[:len(tables.label_id)]
    broken = dataclasses.replace(tables, **{field: value})  # type: ignore[arg-type]
    with pytest.raises(InternalError, match=message):
        native.simulate(broken, 10, 0, 100)
