"""Turning plain data from a file into a :class:`Definition`, collecting every problem.

The reader never stops at the first mistake: an author fixing a definition wants the
whole list, each with its node, field, line and a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relentless.core.definition import RESERVED_LABELS, Backoff, Definition, Node
from relentless.core.durations import DURATION_HINT, MAX_DURATION_MS, parse_duration
from relentless.core.graph_checks import LineOf, graph_problems
from relentless.core.source import (
    Format,
    SourceMapping,
    SyntaxProblem,
    format_of,
    parse_text,
    walk_mappings,
)
from relentless.errors import DefinitionInvalid, Problem

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,127}")
NAME_HINT = "use a letter then letters, digits, '_', '.' or '-' (at most 128 characters)"
MAX_NODES = 10_000
MAX_LABELS = 1_000
MAX_CELLS = 1_000_000
"""nodes x labels: the dense transition table of every version lives on every node."""
MAX_ATTEMPTS = 1_000_000

TOP_FIELDS = frozenset({"name", "start", "nodes", "defaults", "description", "sla"})
SETTING_FIELDS = frozenset({"timeout", "attempts", "backoff", "deadline"})
NODE_FIELDS = SETTING_FIELDS | {"operation", "on", "manual", "description"}
BACKOFF_FIELDS = frozenset({"initial", "multiplier", "max", "jitter"})

BUILTIN_DEFAULTS: dict[str, Any] = {
    "timeout_ms": 60_000,
    "attempts": 3,
    "backoff": Backoff(1_000),
    "deadline_ms": None,
}


def load_definition(path: str | Path) -> Definition:
    """Read and validate the definition in ``path`` (YAML, or JSON for ``.json``).

    Raises OSError if the file cannot be read, UnicodeDecodeError if it is not UTF-8.
    """
    text = Path(path).read_text(encoding="utf-8")
    return parse_definition(text, format_of(path), source=str(path))


def parse_definition(text: str, fmt: Format = "yaml", source: str | None = None) -> Definition:
    """Validate ``text`` and return its definition; raises :class:`DefinitionInvalid`."""
    try:
        data = parse_text(text, fmt)
    except SyntaxProblem as exc:
        raise DefinitionInvalid([exc.problem], source) from None
    return definition_from_data(data, source)


def definition_from_data(data: Any, source: str | None = None) -> Definition:
    """Validate already-parsed data (mappings, lists, scalars) into a definition."""
    reader = _Reader()
    definition = reader.read(data)
    if reader.problems or definition is None:
        in_file_order = sorted(reader.problems, key=lambda p: (p.line is None, p.line or 0))
        raise DefinitionInvalid(in_file_order, source)
    return definition


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a value sits: the node (if any), the field path inside it, and the line."""

    node: str | None
    field: str | None
    line: int | None

    def child(self, key: str, line: int | None) -> _Where:
        field = key if self.field is None else f"{self.field}.{key}"
        return _Where(self.node, field, line if line is not None else self.line)


def _line(mapping: Any, key: str) -> int | None:
    return mapping.line_of(key) if isinstance(mapping, SourceMapping) else None


class _Reader:
    """Collects problems while building a definition from plain data."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, where: _Where, code: str, message: str, hint: str) -> None:
        self.problems.append(Problem(code, message, hint, where.node, where.field, where.line))

    def read(self, data: Any) -> Definition | None:
        top = _Where(None, None, getattr(data, "line", None))
        if not isinstance(data, dict):
            kind = type(data).__name__ if data is not None else "nothing"
            self.problem(top, "wrong_type", f"the definition is {kind}, not a mapping",
                         "write a mapping with the fields name, start and nodes")
            return None
        self._duplicates(data)
        self._unknown_fields(data, TOP_FIELDS, top)
        name = self._name(data, "name", top, required=True)
        start = self._name(data, "start", top, required=True)
        description = self._text(data, "description", top)
        sla = self._duration(data, "sla", top, positive=True) if "sla" in data else None
        defaults = self._defaults(data)
        nodes = self._nodes(data, defaults)
        if nodes is None:
            return None
        declared = frozenset(data["nodes"])
        self.problems.extend(graph_problems(start, nodes, declared, _source_lines(data)))
        if name is None or start is None:
            return None
        return Definition(name, start, nodes, description, sla)

    def _duplicates(self, data: dict[str, Any]) -> None:
        for path, mapping in walk_mappings(data):
            for key, line in getattr(mapping, "duplicates", ()):
                self.problems.append(_duplicate_problem(path, key, line))

    def _unknown_fields(self, mapping: dict[str, Any], allowed: frozenset[str],
                        where: _Where) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(where.child(key, _line(mapping, key)), "unknown_field",
                             f"unknown field {key!r}",
                             f"remove it; allowed here: {', '.join(sorted(allowed))}")

    def _name(self, mapping: dict[str, Any], key: str, where: _Where,
              required: bool = False) -> str | None:
        here = where.child(key, _line(mapping, key))
        if key not in mapping:
            if required:
                self.problem(here, "missing_field", f"field {key!r} is missing", f"add {key!r}")
            return None
        value = mapping[key]
        if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
            self.problem(here, "invalid_name", f"{value!r} is not a valid name", NAME_HINT)
            return None
        return value

    def _text(self, mapping: dict[str, Any], key: str, where: _Where) -> str | None:
        value = mapping.get(key)
        if value is not None and not isinstance(value, str):
            self.problem(where.child(key, _line(mapping, key)), "wrong_type",
                         f"{key} must be text, not {type(value).__name__}", "quote it")
            return None
        return value

    def _defaults(self, data: dict[str, Any]) -> dict[str, Any]:
        where = _Where(None, "defaults", _line(data, "defaults"))
        raw = data.get("defaults", {})
        if not isinstance(raw, dict):
            self.problem(where, "wrong_type", "defaults must be a mapping",
                         "write defaults as timeout/attempts/backoff/deadline fields")
            return dict(BUILTIN_DEFAULTS)
        self._unknown_fields(raw, SETTING_FIELDS, where)
        return self._settings(raw, BUILTIN_DEFAULTS, where)

    def _settings(self, raw: dict[str, Any], inherited: dict[str, Any],
                  where: _Where) -> dict[str, Any]:
        settings = dict(inherited)
        if "timeout" in raw:
            settings["timeout_ms"] = self._duration(raw, "timeout", where, positive=True)
        if "deadline" in raw:
            settings["deadline_ms"] = self._duration(raw, "deadline", where, positive=True)
        if "attempts" in raw:
            settings["attempts"] = self._count(raw, "attempts", where)
        if "backoff" in raw:
            settings["backoff"] = self._backoff(raw, where)
        return settings

    def _duration(self, mapping: dict[str, Any], key: str, where: _Where,
                  positive: bool) -> int:
        here = where.child(key, _line(mapping, key))
        value = mapping[key]
        try:
            milliseconds = parse_duration(value)
        except ValueError:
            self.problem(here, "bad_duration", f"{value!r} is not a duration", DURATION_HINT)
            return 0
        if positive and milliseconds == 0:
            self.problem(here, "bad_duration", f"{key} must be longer than zero",
                         "give a duration of at least 1ms")
        elif milliseconds > MAX_DURATION_MS:
            self.problem(here, "bad_duration", f"{value!r} is longer than ten years",
                         "give a shorter duration")
        return milliseconds

    def _count(self, mapping: dict[str, Any], key: str, where: _Where) -> int:
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, int) or not (
            1 <= value <= MAX_ATTEMPTS
        ):
            self.problem(where.child(key, _line(mapping, key)), "bad_count",
                         f"{key} is {value!r}, not a whole number from 1 to {MAX_ATTEMPTS}",
                         "write a whole number such as 3 (1 means no retry)")
            return 1
        return value

    def _backoff(self, mapping: dict[str, Any], where: _Where) -> Backoff:
        value = mapping["backoff"]
        here = where.child("backoff", _line(mapping, "backoff"))
        if not isinstance(value, dict):
            return Backoff(self._duration(mapping, "backoff", where, positive=False))
        self._unknown_fields(value, BACKOFF_FIELDS, here)
        if "initial" not in value:
            self.problem(here, "missing_field", "backoff needs 'initial'",
                         "add initial: 1s (or write backoff: 1s for a fixed delay)")
        initial = self._duration(value, "initial", here, False) if "initial" in value else 0
        maximum = self._duration(value, "max", here, False) if "max" in value else None
        multiplier = value.get("multiplier", 2.0)
        if isinstance(multiplier, bool) or not isinstance(multiplier, int | float) or not (
            1.0 <= multiplier <= 100.0
        ):
            self.problem(here.child("multiplier", _line(value, "multiplier")), "bad_count",
                         f"multiplier is {multiplier!r}, not a number from 1 to 100",
                         "write a number such as 2 (each retry waits twice as long)")
            multiplier = 1.0
        if maximum is not None and maximum < initial:
            self.problem(here.child("max", _line(value, "max")), "bad_duration",
                         "max is shorter than initial", "make max at least as long as initial")
        jitter = value.get("jitter", 0.0)
        if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not (
            0.0 <= jitter <= 1.0
        ):
            self.problem(here.child("jitter", _line(value, "jitter")), "bad_count",
                         f"jitter is {jitter!r}, not a number from 0 to 1",
                         "write a share such as 0.2 (each delay shortened by up to 20%)")
            jitter = 0.0
        return Backoff(initial, float(multiplier), maximum, float(jitter))

    def _nodes(self, data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Node] | None:
        where = _Where(None, "nodes", _line(data, "nodes"))
        raw = data.get("nodes")
        if raw is None:
            self.problem(where, "missing_field", "field 'nodes' is missing",
                         "add nodes: a mapping of node name to node")
            return None
        if not isinstance(raw, dict) or not raw:
            self.problem(where, "wrong_type", "nodes must be a non-empty mapping",
                         "write each node as name: {operation: ..., on: {...}}")
            return None
        if len(raw) > MAX_NODES:
            self.problem(where, "too_large", f"{len(raw)} nodes, more than {MAX_NODES}",
                         "split the workflow into smaller definitions")
        nodes = {}
        for name, spec in raw.items():
            node = self._node(name, spec, defaults, _line(raw, name))
            if node is not None:
                nodes[name] = node
        labels = {label for node in nodes.values() for label in node.on}
        if len(labels) > MAX_LABELS:
            self.problem(where, "too_large", f"{len(labels)} labels, more than {MAX_LABELS}",
                         "use fewer distinct labels")
        elif len(nodes) * (len(labels) + 1) > MAX_CELLS:
            self.problem(where, "too_large", f"{len(nodes)} nodes by {len(labels)} labels "
                         f"is more than {MAX_CELLS:,} table cells",
                         "split the workflow or use fewer distinct labels")
        return nodes

    def _node(self, name: str, spec: Any, defaults: dict[str, Any],
              line: int | None) -> Node | None:
        where = _Where(name, None, line)
        if not NAME_PATTERN.fullmatch(name):
            self.problem(where, "invalid_name", f"{name!r} is not a valid node name", NAME_HINT)
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            self.problem(where, "wrong_type", "a node must be a mapping",
                         "write {} for a leaf, or operation and on for a step")
            return None
        self._unknown_fields(spec, NODE_FIELDS, where)
        operation = self._name(spec, "operation", where)
        on = self._edges(spec, where)
        manual = spec.get("manual", False)
        if not isinstance(manual, bool):
            self.problem(where.child("manual", _line(spec, "manual")), "wrong_type",
                         f"manual is {manual!r}, not true or false", "write true or false")
            manual = False
        description = self._text(spec, "description", where)
        if "operation" not in spec and not on:
            return self._leaf(name, spec, where, description)
        self._step_shape(spec, on, where)
        settings = self._settings(spec, defaults, where)
        return Node(name, operation, on, settings["timeout_ms"], settings["attempts"],
                    settings["backoff"], settings["deadline_ms"], manual, description)

    def _leaf(self, name: str, spec: dict[str, Any], where: _Where,
              description: str | None) -> Node:
        for key in sorted(set(spec) & (SETTING_FIELDS | {"manual"})):
            self.problem(where.child(key, _line(spec, key)), "leaf_setting",
                         f"{key} on a leaf has no effect: a leaf runs nothing",
                         "remove it, or give the node an operation and labels")
        return Node(name, None, {}, 0, 0, Backoff(0), None, False, description)

    def _step_shape(self, spec: dict[str, Any], on: dict[str, str], where: _Where) -> None:
        if "operation" not in spec:
            self.problem(where.child("operation", where.line), "missing_field",
                         "this node has labels but no operation",
                         "add operation: the name workers implement")
        elif not on:
            self.problem(where.child("on", _line(spec, "on")), "missing_field",
                         "this node has an operation but no labels, so it can never finish",
                         "add on: label -> next node (or remove operation to make a leaf)")
        elif set(on) <= RESERVED_LABELS:
            label = sorted(on)[0]
            self.problem(where.child(f"on.{label}", _line(spec["on"], label)),
                         "reserved_label",
                         f"the only labels are reserved ({', '.join(sorted(on))}); no worker "
                         "may complete with them, so every attempt would run out",
                         "add the labels the operation answers with")

    def _edges(self, spec: dict[str, Any], where: _Where) -> dict[str, str]:
        raw = spec.get("on", {})
        here = where.child("on", _line(spec, "on"))
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(here, "wrong_type", "on must be a mapping of label -> next node",
                         "write on: {ok: next_node}")
            return {}
        edges = {}
        for label, target in raw.items():
            at = here.child(str(label), _line(raw, label))
            if not NAME_PATTERN.fullmatch(label):
                self.problem(at, "invalid_name", f"{label!r} is not a valid label", NAME_HINT)
            elif label not in RESERVED_LABELS and label.lower() in RESERVED_LABELS:
                self.problem(at, "reserved_label",
                             f"{label!r} looks like the reserved label {label.lower()!r}",
                             f"write {label.lower()!r} to route the engine's give-up, or pick "
                             "another name")
            if not isinstance(target, str):
                self.problem(at, "wrong_type", f"target {target!r} is not a node name",
                             "write the name of the next node")
                continue
            edges[label] = target
        return edges


def _source_lines(data: dict[str, Any]) -> LineOf:
    """Look up lines in the source: of a top-level field, a node, or a node's label."""

    def line_of(node: str | None, key: str | None) -> int | None:
        if node is None:
            return _line(data, key or "")
        spec = data["nodes"].get(node)
        if key is None or not isinstance(spec, dict) or not isinstance(spec.get("on"), dict):
            return _line(data["nodes"], node)
        return _line(spec["on"], key)

    return line_of


def _duplicate_problem(path: tuple[str, ...], key: str, line: int | None) -> Problem:
    """Name a duplicate key for what it is: a node, a label or another field."""
    if path == ("nodes",):
        return Problem("duplicate_node", f"node {key!r} is defined twice",
                       "rename or merge the two nodes", node=key, line=line)
    if len(path) == 3 and path[0] == "nodes" and path[2] == "on":
        return Problem("duplicate_label", f"label {key!r} appears twice",
                       "give each label one target", node=path[1], field=f"on.{key}", line=line)
    node = path[1] if len(path) >= 2 and path[0] == "nodes" else None
    inner = path[2:] if node is not None else path
    return Problem("duplicate_field", f"field {key!r} appears twice", "keep one of them",
                   node=node, field=".".join((*inner, key)), line=line)
