"""``--set KEY=VALUE``: what-if changes to a definition or a scenario without editing files.

Keys name what they change: ``sla``, ``NODE.timeout|attempts|backoff|deadline`` (the
definition), ``NODE.duration|fail|lost|permanent`` and ``NODE.labels.LABEL`` (the scenario).
Values are read as YAML (``10s``, ``5``, ``0.1``, ``{uniform: [1s, 5s]}``) and applied
to the file's data before validation, so a bad value is reported like one in a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from relentless.core.source import SyntaxProblem, parse_text
from relentless.errors import UserError

DEFINITION_FIELDS = frozenset({"timeout", "attempts", "backoff", "deadline"})
SCENARIO_FIELDS = frozenset({"duration", "fail", "lost", "permanent", "labels"})
KEY_HINT = ("write sla=2h, NODE.timeout=10s, NODE.attempts=5, NODE.backoff=2s, "
            "NODE.deadline=1h, NODE.duration=3s, NODE.fail=0.1, NODE.lost=0.01 "
            "or NODE.labels.LABEL=0.5")


class BadOverride(UserError):
    """A ``--set`` option that names nothing it can change, or has no ``=``."""


@dataclass(frozen=True, slots=True)
class Override:
    """One ``--set``: the path of keys it writes and the value it writes there."""

    text: str
    path: tuple[str, ...]
    value: Any

    @property
    def on_definition(self) -> bool:
        return self.path == ("sla",) or (len(self.path) == 2 and self.path[1] in
                                         DEFINITION_FIELDS)


def parse_overrides(texts: Sequence[str] | None) -> list[Override]:
    """Each ``KEY=VALUE``; raises :class:`BadOverride` naming the one that is wrong."""
    overrides = []
    for text in texts or ():
        key, equals, raw = text.partition("=")
        path = tuple(key.strip().split("."))
        known = path == ("sla",) or (len(path) == 2 and path[1] in
                                     DEFINITION_FIELDS | SCENARIO_FIELDS - {"labels"}) or (
            len(path) == 3 and path[1] == "labels")
        if not equals or not known or not all(path):
            raise BadOverride(f"--set {text}: not a setting this can change ({KEY_HINT})")
        try:
            value = parse_text(raw, "yaml")
        except SyntaxProblem as exc:
            raise BadOverride(f"--set {text}: {exc.problem.message}") from None
        overrides.append(Override(text, path, value))
    return overrides


def apply(data: Any, overrides: Sequence[Override], nodes: Sequence[str]) -> Any:
    """``data`` (a parsed file, changed in place) with each override written into it.

    ``nodes`` are the definition's node names: an override of an unknown node is an
    error here rather than a silent new entry.
    """
    if overrides and not isinstance(data, dict):
        return data  # validation reports the file's shape; nothing to write into
    for override in overrides:
        if override.path == ("sla",):
            data["sla"] = override.value
            continue
        node, *rest = override.path
        if node not in nodes:
            raise BadOverride(f"--set {override.text}: no node named {node!r} "
                              f"(nodes: {', '.join(nodes)})")
        section = data.setdefault("nodes", {})
        if not isinstance(section, dict):
            return data
        target = section.setdefault(node, {})
        if target is None:
            target = section[node] = {}
        for key in rest[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        if isinstance(target, dict):
            target[rest[-1]] = override.value
    return data
