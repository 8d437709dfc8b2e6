"""One vocabulary: the package's enums, PostgreSQL's enum types and the spec's names agree."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import asyncpg
import pytest

from relentless import vocabulary
from relentless.vocabulary import UNMODELLED_REASONS, WIRE_ONLY_REASONS
from spec import answers as spec_answers
from spec import state as spec_state

DATABASE_TYPES = {
    "relentless_workflow_status": vocabulary.WorkflowStatus,
    "relentless_job_state": vocabulary.JobState,
    "relentless_transition_kind": vocabulary.TransitionKind,
    "relentless_event_kind": vocabulary.EventKind,
}

NOT_YET_MODELLED = frozenset({"unwritable"})
"""Names the engine has and spec/ does not model. ``unwritable`` is the incident of a row
PostgreSQL refuses to write (a step counter at its type's limit): the model has no
storage limits. It never holds a name spelled differently."""

SPEC_NAMES: list[tuple[type[StrEnum], type[StrEnum], frozenset[str]]] = [
    (vocabulary.WorkflowStatus, spec_state.Status, frozenset()),
    (vocabulary.JobState, spec_state.JobState, NOT_YET_MODELLED),
    (vocabulary.TransitionKind, spec_state.TransitionKind, NOT_YET_MODELLED),
    (vocabulary.GiveUpCause, spec_state.TimeoutCause, NOT_YET_MODELLED),
    (vocabulary.SweepOutcome, spec_answers.SweepOutcome, frozenset()),
    (vocabulary.Verdict, spec_answers.Verdict, frozenset()),
    (vocabulary.Reason, spec_answers.Reason,
     WIRE_ONLY_REASONS | NOT_YET_MODELLED | UNMODELLED_REASONS),
]


def _values(kind: type[StrEnum]) -> list[str]:
    return [member.value for member in kind]


def test_enums_match_the_database_enum_types(database_dsn: str, run: Any) -> None:
    async def labels() -> dict[str, list[str]]:
        connection = await asyncpg.connect(database_dsn)
        try:
            rows = await connection.fetch(
                "SELECT t.typname, e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = "
                "e.enumtypid WHERE t.typname LIKE 'relentless_%' ORDER BY t.typname, "
                "e.enumsortorder")
        finally:
            await connection.close()
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["typname"], []).append(row["enumlabel"])
        return found

    found = run(labels())
    assert set(found) == set(DATABASE_TYPES), "an enum type has no vocabulary (or the reverse)"
    for type_name, kind in DATABASE_TYPES.items():
        assert found[type_name] == _values(kind), type_name


@pytest.mark.parametrize(("ours", "specs", "wire_only"), SPEC_NAMES,
                         ids=[ours.__name__ for ours, _, _ in SPEC_NAMES])
def test_enums_match_the_spec_names(ours: type[StrEnum], specs: type[StrEnum],
                                    wire_only: frozenset[str]) -> None:
    """The engine may know names the model does not see (the HTTP layer's own reasons),
    never the reverse, and never a name spelled differently."""
    assert set(_values(specs)) == set(_values(ours)) - wire_only
