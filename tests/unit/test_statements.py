"""Every named statement's SQL agrees with its declaration: parameters, columns, types."""

from __future__ import annotations

import re
import typing
from datetime import datetime
from enum import StrEnum
from types import NoneType, UnionType
from typing import Any

import pytest

from relentless.store import statements
from relentless.store.queries import _statements
from relentless.store.statements import Statement, column_names
from relentless.vocabulary import EventKind, JobState, TransitionKind

PARAMETER = re.compile(r"\$(\d+)")
UNNEST = re.compile(r"unnest\((?P<arrays>[^()]*)\)\s+AS\s+\w+\((?P<columns>[^()]*)\)",
                    re.IGNORECASE)
ARRAY = re.compile(r"\$(\d+)::(\w+)\[\]")

SQL_TYPES: dict[Any, frozenset[str]] = {
    int: frozenset({"bigint", "integer"}),
    str: frozenset({"text"}),
    bool: frozenset({"boolean"}),
    datetime: frozenset({"timestamptz"}),
    dict: frozenset({"jsonb"}),
    JobState: frozenset({"relentless_job_state"}),
    TransitionKind: frozenset({"relentless_transition_kind"}),
    EventKind: frozenset({"relentless_event_kind"}),
}
"""What each Python field type may be cast to in an unnest; other enums travel as text."""

DECLARED = statements.all_statements()


def _sql_type_choices(annotation: Any) -> frozenset[str]:
    """The SQL array element types a field of ``annotation`` may travel as."""
    if isinstance(annotation, UnionType) or typing.get_origin(annotation) is typing.Union:
        [annotation] = [arm for arm in typing.get_args(annotation) if arm is not NoneType]
    annotation = typing.get_origin(annotation) or annotation
    if annotation in SQL_TYPES:
        return SQL_TYPES[annotation]
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return SQL_TYPES[str]
    raise AssertionError(f"no SQL type known for {annotation!r}")


def test_every_statement_in_queries_sql_is_declared_and_the_reverse() -> None:
    assert set(_statements()) == set(DECLARED)


@pytest.mark.parametrize("statement", DECLARED.values(), ids=list(DECLARED))
def test_the_sql_takes_exactly_the_declared_parameters(statement: Statement) -> None:
    numbers = {int(n) for n in PARAMETER.findall(statement.sql)}
    width = len(column_names(statement.rows)) if statement.rows is not None else 0
    assert numbers == set(range(1, len(statement.parameters) + width + 1))


@pytest.mark.parametrize("statement", [s for s in DECLARED.values() if s.rows is not None],
                         ids=[s.name for s in DECLARED.values() if s.rows is not None])
def test_unnest_columns_follow_the_row_fields_by_name_and_type(statement: Statement) -> None:
    """Swapping two fields of a row type (even two of one type) fails here."""
    assert statement.rows is not None
    [found] = UNNEST.finditer(statement.sql)
    aliases = [name.strip() for name in found["columns"].split(",")]
    assert tuple(aliases) == column_names(statement.rows)
    arrays = ARRAY.findall(found["arrays"])
    first = len(statement.parameters) + 1
    assert [int(number) for number, _ in arrays] == list(range(first, first + len(aliases)))
    hints = typing.get_type_hints(statement.rows)
    for column, (_, sql_type) in zip(aliases, arrays, strict=True):
        assert sql_type in _sql_type_choices(hints[column]), (column, sql_type)


def test_arguments_are_taken_by_name_and_refused_when_they_do_not_match() -> None:
    lease = statements.LEASE_JOBS
    arguments = lease.arguments(now=1, operations=["a"], limit=2, worker="w", lease_ms=3)
    assert arguments == [1, ["a"], 2, "w", 3]
    with pytest.raises(TypeError, match="takes"):
        lease.arguments(now=1, operations=["a"], limit=2, worker="w")
    with pytest.raises(TypeError, match="takes no rows"):
        lease.arguments([object()], now=1, operations=["a"], limit=2, worker="w", lease_ms=3)
