"""Relentless: durable workflows that complete under strict SLAs.

The public API of the core; the store, service and worker build on it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from relentless.core.batch import allocate_outputs
from relentless.core.compiler import CompiledDefinition, compile_definition
from relentless.core.definition import RESERVED_LABEL, Backoff, Definition, Node
from relentless.core.kernel import advance
from relentless.core.reader import definition_from_data, load_definition, parse_definition
from relentless.core.registry import PackedTables, Registry
from relentless.core.status import Status
from relentless.errors import (
    BatchShapeError,
    DefinitionInvalid,
    InternalError,
    KernelUnavailable,
    Problem,
    RelentlessError,
    UserError,
)

try:
    __version__ = version("relentless-orchestrator")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "RESERVED_LABEL",
    "Backoff",
    "BatchShapeError",
    "CompiledDefinition",
    "Definition",
    "DefinitionInvalid",
    "InternalError",
    "KernelUnavailable",
    "Node",
    "PackedTables",
    "Problem",
    "Registry",
    "RelentlessError",
    "Status",
    "UserError",
    "advance",
    "allocate_outputs",
    "compile_definition",
    "definition_from_data",
    "load_definition",
    "parse_definition",
]
