"""Scenario files: what the workers are expected to do at each step, for the simulators.

A scenario gives, per node, the weight of each label, the duration of an attempt and
the probabilities that an attempt fails or is lost. Like a definition, it is read
with its lines and every problem is reported at once, each naming its node, field,
line and a fix. The format is the one a scenario learned from a server's history
will be written in: label counts are weights, histograms carry counts, and
``source`` says where the numbers come from.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from relentless.core.definition import RESERVED_LABEL, Definition, Node
from relentless.core.durations import DURATION_HINT, MAX_DURATION_MS, parse_duration
from relentless.core.source import Format, SourceMapping, SyntaxProblem, format_of, parse_text
from relentless.errors import Problem, UserError
from relentless.simulation import distributions
from relentless.simulation.distributions import Segments

TOP_FIELDS = frozenset({"name", "definition", "source", "defaults", "nodes"})
DEFAULT_FIELDS = frozenset({"duration", "fail", "lost", "permanent"})
NODE_FIELDS = DEFAULT_FIELDS | {"labels"}
DURATION_KINDS = frozenset({"fixed", "uniform", "lognormal", "histogram"})
DURATION_SHAPE_HINT = ("write a duration (2s), or one of {fixed: 2s}, {uniform: [1s, 5s]}, "
                       "{lognormal: {median: 2s, sigma: 0.5}}, "
                       "{histogram: {edges: [0s, 1s, 5s], counts: [90, 10]}}")
MAX_SIGMA = 10.0


_FAILURE_FIELDS = ("fail", "lost", "permanent")
_MANUAL_WORDS = {"fail": "failed", "lost": "lost", "permanent": "failed permanently"}


class ScenarioInvalid(UserError):
    """The scenario has problems; each one says where it is and what to do."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        origin = f"{source}: " if source else ""
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{origin}scenario has {len(self.problems)} {noun}:\n{lines}")


@dataclass(frozen=True, slots=True)
class StepScenario:
    """What happens at one step node: label probabilities, durations, failures, losses."""

    labels: Mapping[str, float]
    """Probability of each label an attempt completes with; they sum to 1."""
    duration: Segments
    fail: float
    """Probability that an attempt fails (the worker reports an error) and is retried."""
    lost: float
    """Probability that an attempt is lost: nobody completes it, its lease expires."""
    permanent: float = 0.0
    """Probability that an attempt fails and may not be retried (``retryable: false``)."""

    @property
    def permanent_below(self) -> float:
        """An attempt whose outcome draw is below this fails permanently..."""
        return self.permanent

    @property
    def fail_below(self) -> float:
        """... below this it fails and is retried ..."""
        return self.permanent + self.fail

    @property
    def lost_below(self) -> float:
        """... and below this it is lost (every simulator compares with these sums)."""
        return self.permanent + self.fail + self.lost


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole scenario, resolved against one definition: an entry for every step node."""

    steps: Mapping[str, StepScenario]
    name: str | None = None
    source: Mapping[str, str] = field(default_factory=dict)


def load_scenario(path: str | Path, definition: Definition) -> Scenario:
    """Read the scenario in ``path`` for ``definition``; raises OSError if unreadable."""
    text = Path(path).read_text(encoding="utf-8")
    return parse_scenario(text, definition, format_of(path), source=str(path))


def parse_scenario(text: str, definition: Definition, fmt: Format = "yaml",
                   source: str | None = None) -> Scenario:
    """Validate ``text`` as a scenario of ``definition``; raises :class:`ScenarioInvalid`."""
    try:
        data = parse_text(text, fmt)
    except SyntaxProblem as exc:
        raise ScenarioInvalid([exc.problem], source) from None
    return scenario_from_data(data, definition, source)


def scenario_from_data(data: Any, definition: Definition,
                       source: str | None = None) -> Scenario:
    """Validate already-parsed data into a scenario of ``definition``."""
    reader = _Reader(definition)
    scenario = reader.read(data)
    if reader.problems or scenario is None:
        in_file_order = sorted(reader.problems, key=lambda p: (p.line is None, p.line or 0))
        raise ScenarioInvalid(in_file_order, source)
    return scenario


def default_scenario(definition: Definition) -> Scenario:
    """Every label equally likely, instant attempts, no failure, no loss."""
    return scenario_from_data({}, definition)


def _line(mapping: Any, key: str) -> int | None:
    return mapping.line_of(key) if isinstance(mapping, SourceMapping) else None


@dataclass(frozen=True, slots=True)
class _Where:
    node: str | None
    field: str | None
    line: int | None

    def child(self, key: str, mapping: Any) -> _Where:
        name = key if self.field is None else f"{self.field}.{key}"
        line = _line(mapping, key)
        return _Where(self.node, name, line if line is not None else self.line)


_DEFAULTS: dict[str, Any] = {"duration": distributions.fixed(0), "fail": 0.0, "lost": 0.0,
                             "permanent": 0.0}


class _Reader:
    """Collects problems while resolving a scenario against a definition."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.problems: list[Problem] = []

    def problem(self, where: _Where, code: str, message: str, hint: str) -> None:
        self.problems.append(Problem(code, message, hint, where.node, where.field, where.line))

    def read(self, data: Any) -> Scenario | None:
        top = _Where(None, None, getattr(data, "line", None))
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problem(top, "wrong_type", f"the scenario is {type(data).__name__}, "
                         "not a mapping", "write a mapping with the field nodes")
            return None
        self._unknown(data, TOP_FIELDS, top)
        name = self._text(data, "name", top)
        self._definition_name(data, top)
        source = self._source(data, top)
        defaults = self._defaults(data, top)
        nodes = self._nodes_mapping(data, top)
        steps = {}
        for node_name, node in self.definition.nodes.items():
            if node.is_leaf:
                continue
            raw = nodes.get(node_name, {})
            where = _Where(node_name, None, _line(nodes, node_name))
            steps[node_name] = self._step(node, raw, defaults, where)
        return Scenario(MappingProxyType(steps), name, MappingProxyType(source))

    def _unknown(self, mapping: dict[str, Any], allowed: frozenset[str], where: _Where) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(where.child(key, mapping), "unknown_field",
                             f"unknown field {key!r}",
                             f"remove it; allowed here: {', '.join(sorted(allowed))}")

    def _text(self, mapping: dict[str, Any], key: str, where: _Where) -> str | None:
        value = mapping.get(key)
        if value is not None and not isinstance(value, str):
            self.problem(where.child(key, mapping), "wrong_type",
                         f"{key} must be text, not {type(value).__name__}", "quote it")
            return None
        return value

    def _definition_name(self, data: dict[str, Any], top: _Where) -> None:
        named = self._text(data, "definition", top)
        if named is not None and named != self.definition.name:
            self.problem(top.child("definition", data), "wrong_definition",
                         f"the scenario is for {named!r}, not {self.definition.name!r}",
                         "simulate the definition the scenario was written for")

    def _source(self, data: dict[str, Any], top: _Where) -> dict[str, str]:
        raw = data.get("source", {})
        if not isinstance(raw, dict):
            self.problem(top.child("source", data), "wrong_type",
                         "source must be a mapping of text", "write source: {by: me}")
            return {}
        return {str(key): str(value) for key, value in raw.items()}

    def _defaults(self, data: dict[str, Any], top: _Where) -> dict[str, Any]:
        raw = data.get("defaults", {})
        where = top.child("defaults", data)
        if not isinstance(raw, dict):
            self.problem(where, "wrong_type", "defaults must be a mapping",
                         "write defaults as duration/fail/lost fields")
            return dict(_DEFAULTS)
        self._unknown(raw, DEFAULT_FIELDS, where)
        return self._settings(raw, _DEFAULTS, where)

    def _nodes_mapping(self, data: dict[str, Any], top: _Where) -> dict[str, Any]:
        raw = data.get("nodes", {})
        where = top.child("nodes", data)
        if not isinstance(raw, dict):
            self.problem(where, "wrong_type", "nodes must be a mapping of node name to node",
                         "write nodes: {charge: {labels: {ok: 0.9, error: 0.1}}}")
            return {}
        steps = sorted(name for name, node in self.definition.nodes.items() if not node.is_leaf)
        for name in raw:
            here = _Where(str(name), None, _line(raw, name))
            if name not in self.definition.nodes:
                self.problem(here, "unknown_node", f"the definition has no node {name!r}",
                             f"name one of: {', '.join(steps)}")
            elif self.definition.nodes[name].is_leaf:
                self.problem(here, "leaf_setting", f"{name!r} is a leaf: nothing runs there",
                             "remove it from the scenario")
        return raw

    def _settings(self, raw: dict[str, Any], inherited: dict[str, Any],
                  where: _Where) -> dict[str, Any]:
        settings = dict(inherited)
        if "duration" in raw:
            settings["duration"] = self._duration(raw["duration"], where.child("duration", raw))
        for key in _FAILURE_FIELDS:
            if key in raw:
                settings[key] = self._probability(raw[key], where.child(key, raw))
        if settings["fail"] + settings["lost"] + settings["permanent"] > 1.0:
            self.problem(where.child(next((k for k in _FAILURE_FIELDS if k in raw), "fail"), raw),
                         "bad_probability", "fail, lost and permanent add up to more than 1",
                         "make fail + lost + permanent at most 1")
        return settings

    def _step(self, node: Node, raw: Any, defaults: dict[str, Any],
              where: _Where) -> StepScenario:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.problem(where, "wrong_type", "a node's scenario must be a mapping",
                         "write labels, duration, fail and lost fields")
            raw = {}
        self._unknown(raw, NODE_FIELDS, where)
        inherited = dict(defaults)
        if node.manual:
            inherited.update(fail=0.0, lost=0.0, permanent=0.0)
        settings = self._settings(raw, inherited, where)
        if node.manual:
            self._manual(raw, where)
        labels = self._labels(node, raw, where)
        return StepScenario(MappingProxyType(labels), settings["duration"],
                            settings["fail"], settings["lost"], settings["permanent"])

    def _manual(self, raw: dict[str, Any], where: _Where) -> None:
        for key in _FAILURE_FIELDS:
            if raw.get(key, 0) not in (0, 0.0):
                self.problem(where.child(key, raw), "manual_failure",
                             f"a manual step cannot be {_MANUAL_WORDS[key]}: "
                             "a person completes it, and no lease expires",
                             f"remove {key}, or give the node a deadline to bound it")

    def _labels(self, node: Node, raw: dict[str, Any], where: _Where) -> dict[str, float]:
        offered = node.offered_labels
        if "labels" not in raw:
            return {label: 1.0 / len(offered) for label in offered}
        here = where.child("labels", raw)
        weights = raw["labels"]
        if not isinstance(weights, dict) or not weights:
            self.problem(here, "wrong_type", "labels must be a mapping of label to weight",
                         f"write labels: {{{offered[0]}: 0.9, ...}}")
            return {label: 1.0 / len(offered) for label in offered}
        good: dict[str, float] = {}
        for label, weight in weights.items():
            at = here.child(str(label), weights)
            if label == RESERVED_LABEL:
                self.problem(at, "reserved_label", f"{RESERVED_LABEL!r} is the engine's label, "
                             "never a worker's", "use fail and lost for attempts that run out")
            elif label not in offered:
                self.problem(at, "unknown_label", f"node {node.name!r} does not offer {label!r}",
                             f"name one of: {', '.join(offered)}")
            elif _number(weight) is None or weight < 0:
                self.problem(at, "bad_probability", f"{weight!r} is not a weight >= 0",
                             "write a probability (0.9) or a count (9120)")
            else:
                good[label] = float(weight)
        total = sum(good.values())
        if len(good) == len(weights) and total <= 0:
            self.problem(here, "bad_probability", "the label weights add up to 0",
                         "give at least one label a weight above 0")
        return {label: weight / total for label, weight in good.items() if weight > 0} \
            if total > 0 else {label: 1.0 / len(offered) for label in offered}

    def _probability(self, value: Any, where: _Where) -> float:
        number = _number(value)
        if number is None or not 0.0 <= number <= 1.0:
            self.problem(where, "bad_probability", f"{value!r} is not a probability",
                         "write a number from 0 to 1, such as 0.01")
            return 0.0
        return number

    def _milliseconds(self, value: Any, where: _Where) -> int | None:
        try:
            milliseconds = parse_duration(value)
        except ValueError:
            self.problem(where, "bad_duration", f"{value!r} is not a duration", DURATION_HINT)
            return None
        if milliseconds > MAX_DURATION_MS:
            self.problem(where, "bad_duration", f"{value!r} is longer than ten years",
                         "give a shorter duration")
            return None
        return milliseconds

    def _duration(self, value: Any, where: _Where) -> Segments:
        if isinstance(value, str):
            milliseconds = self._milliseconds(value, where)
            return distributions.fixed(milliseconds or 0)
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in \
                DURATION_KINDS:
            self.problem(where, "bad_duration", f"{value!r} is not a duration distribution",
                         DURATION_SHAPE_HINT)
            return distributions.fixed(0)
        kind, spec = next(iter(value.items()))
        here = where.child(kind, value)
        reader = {"fixed": self._fixed, "uniform": self._uniform,
                  "lognormal": self._lognormal, "histogram": self._histogram}[kind]
        return reader(spec, here) or distributions.fixed(0)

    def _fixed(self, spec: Any, where: _Where) -> Segments | None:
        milliseconds = self._milliseconds(spec, where)
        return None if milliseconds is None else distributions.fixed(milliseconds)

    def _uniform(self, spec: Any, where: _Where) -> Segments | None:
        if not isinstance(spec, list) or len(spec) != 2:
            self.problem(where, "bad_duration", "uniform takes two durations",
                         "write {uniform: [1s, 5s]}")
            return None
        low, high = (self._milliseconds(item, where) for item in spec)
        if low is None or high is None:
            return None
        if high < low:
            self.problem(where, "bad_duration", "the upper bound is below the lower one",
                         "write the shorter duration first")
            return None
        return distributions.uniform(low, high)

    def _lognormal(self, spec: Any, where: _Where) -> Segments | None:
        if not isinstance(spec, dict) or set(spec) != {"median", "sigma"}:
            self.problem(where, "bad_duration", "lognormal takes a median and a sigma",
                         "write {lognormal: {median: 2s, sigma: 0.5}}")
            return None
        median = self._milliseconds(spec["median"], where.child("median", spec))
        sigma = _number(spec["sigma"])
        if sigma is None or not 0.0 < sigma <= MAX_SIGMA:
            self.problem(where.child("sigma", spec), "bad_probability",
                         f"sigma {spec['sigma']!r} is not a number above 0 and at most "
                         f"{MAX_SIGMA:g}", "write a shape such as 0.5")
            return None
        if median is None or median == 0:
            if median == 0:
                self.problem(where.child("median", spec), "bad_duration",
                             "a log-normal median must be above 0", "give at least 1ms")
            return None
        return distributions.lognormal(median, sigma)

    def _histogram(self, spec: Any, where: _Where) -> Segments | None:
        hint = "write {histogram: {edges: [0s, 1s, 5s], counts: [90, 10]}}"
        if not isinstance(spec, dict) or set(spec) != {"edges", "counts"}:
            self.problem(where, "bad_duration", "histogram takes edges and counts", hint)
            return None
        edges, counts = spec["edges"], spec["counts"]
        if not isinstance(edges, list) or not isinstance(counts, list) or \
                len(edges) != len(counts) + 1 or not counts:
            self.problem(where, "bad_duration",
                         "a histogram needs one more edge than counts", hint)
            return None
        edge_ms = [self._milliseconds(edge, where.child("edges", spec)) for edge in edges]
        numbers = [_number(count) for count in counts]
        if any(count is None or count < 0 for count in numbers) or not sum(
                count or 0 for count in numbers):
            self.problem(where.child("counts", spec), "bad_probability",
                         "counts must be numbers >= 0, not all 0", hint)
            return None
        if any(edge is None for edge in edge_ms):
            return None
        known = [edge for edge in edge_ms if edge is not None]
        if any(b <= a for a, b in itertools.pairwise(known)):
            self.problem(where.child("edges", spec), "bad_duration",
                         "edges must increase", "write the edges from shortest to longest")
            return None
        return distributions.histogram(known, [count or 0.0 for count in numbers])


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a real number (not a boolean), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
