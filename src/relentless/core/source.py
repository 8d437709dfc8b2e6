"""Reading definition files (YAML or JSON) into plain data that remembers where things were.

Standard loaders keep the last of two duplicate keys without a word and forget line
numbers; a definition's author needs both, so this module reads mappings into
:class:`SourceMapping`, which records each key's line and every duplicate it saw.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml

from relentless.errors import Problem

Format = Literal["yaml", "json"]


class SourceMapping(dict[str, Any]):
    """A mapping read from a file: its keys' lines and the duplicate keys that were dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.line: int | None = None
        self.key_lines: dict[str, int] = {}
        self.duplicates: list[tuple[str, int | None]] = []

    def line_of(self, key: str) -> int | None:
        """Line of ``key`` in the source, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


def format_of(path: str | Path) -> Format:
    """The format a file's extension announces; anything but ``.json`` is read as YAML."""
    return "json" if str(path).lower().endswith(".json") else "yaml"


def parse_text(text: str, fmt: Format) -> Any:
    """Plain data of ``text``; raises ``SyntaxProblem`` if it is not well-formed."""
    return _parse_json(text) if fmt == "json" else _parse_yaml(text)


class SyntaxProblem(Exception):
    """The text is not well-formed YAML or JSON; carries the :class:`Problem` to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _parse_json(text: str) -> Any:
    def mapping_of(pairs: list[tuple[str, Any]]) -> SourceMapping:
        mapping = SourceMapping()
        for key, value in pairs:
            if key in mapping:
                mapping.duplicates.append((key, None))
            else:
                mapping[key] = value
        return mapping

    try:
        return json.loads(text, object_pairs_hook=mapping_of)
    except RecursionError:
        raise SyntaxProblem(Problem("syntax", "nested too deeply to read",
                                    "flatten the document")) from None
    except json.JSONDecodeError as exc:
        raise SyntaxProblem(
            Problem("syntax", f"not valid JSON: {exc.msg}", "fix the JSON syntax", line=exc.lineno)
        ) from exc


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true and false, so that a field named ``on`` stays ``on``."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _parse_yaml(text: str) -> Any:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        return None if root is None else _YamlReader(loader).read(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SyntaxProblem(
            Problem("syntax", f"not valid YAML: {exc.problem}", "fix the YAML syntax", line=line)
        ) from exc
    except yaml.YAMLError as exc:
        raise SyntaxProblem(
            Problem("syntax", f"not valid YAML: {exc}", "fix the YAML syntax")
        ) from exc
    except RecursionError:
        raise SyntaxProblem(Problem("syntax", "nested too deeply to read",
                                    "flatten the document")) from None
    finally:
        loader.dispose()


class _YamlReader:
    """Turns a composed YAML node tree into plain data, keeping lines and duplicates."""

    def __init__(self, loader: _Loader) -> None:
        self._loader = loader
        self._seen: set[int] = set()

    def read(self, node: yaml.Node) -> Any:
        # An alias makes the composer hand out the same node twice. Definitions have
        # no use for them, and nested aliases expand exponentially ("billion laughs").
        if isinstance(node, yaml.CollectionNode):
            if id(node) in self._seen:
                raise SyntaxProblem(Problem(
                    "syntax", "YAML anchors and aliases (&name, *name) are not supported",
                    "write the repeated part out, or use defaults",
                    line=node.start_mark.line + 1))
            self._seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.read(item) for item in node.value]
        return self._loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode) -> SourceMapping:
        mapping = SourceMapping()
        mapping.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = self.read(key_node)
            key = key if isinstance(key, str) else str(key)
            line = key_node.start_mark.line + 1
            if key in mapping:
                mapping.duplicates.append((key, line))
                continue
            mapping[key] = self.read(value_node)
            mapping.key_lines[key] = line
        return mapping


def walk_mappings(data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every mapping inside ``data`` with the path of keys that leads to it."""
    if isinstance(data, dict):
        yield path, data
        for key, value in data.items():
            yield from walk_mappings(value, (*path, str(key)))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from walk_mappings(item, (*path, str(index)))
