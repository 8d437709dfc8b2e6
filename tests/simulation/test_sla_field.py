"""The definition-level ``sla`` field: read, validated, kept in the canonical form."""

from __future__ import annotations

from textwrap import dedent

import pytest

from relentless import DefinitionInvalid, parse_definition
from relentless.core.definition import definition_from_canonical

BASE = """\
name: flow
start: work
{sla}nodes:
  work:
    operation: do_work
    on:
      ok: done
  done: {{}}
"""


def test_an_sla_is_read_as_milliseconds() -> None:
    definition = parse_definition(BASE.format(sla="sla: 1h30m\n"))
    assert definition.sla_ms == 90 * 60_000


def test_no_sla_means_none_and_keeps_the_fingerprint_of_older_definitions() -> None:
    definition = parse_definition(BASE.format(sla=""))
    assert definition.sla_ms is None
    assert "sla_ms" not in definition.canonical()


def test_an_sla_changes_the_fingerprint_and_survives_the_canonical_form() -> None:
    without = parse_definition(BASE.format(sla=""))
    with_sla = parse_definition(BASE.format(sla="sla: 2h\n"))
    assert with_sla.fingerprint != without.fingerprint
    again = definition_from_canonical(with_sla.canonical())
    assert again.sla_ms == 2 * 3_600_000
    assert again.fingerprint == with_sla.fingerprint


def test_a_stored_canonical_form_without_sla_still_loads() -> None:
    definition = parse_definition(BASE.format(sla=""))
    assert definition_from_canonical(definition.canonical()).sla_ms is None


@pytest.mark.parametrize("value", ["2 hours", "0s", "42", "[1h]", "11000d"])
def test_a_bad_sla_is_a_bad_duration_with_its_line(value: str) -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        parse_definition(dedent(BASE.format(sla=f"sla: {value}\n")))
    problems = caught.value.problems
    assert [(p.code, p.node, p.field, p.line) for p in problems] == [
        ("bad_duration", None, "sla", 3)]
    assert problems[0].hint
