"""Relentless: durable workflows that complete under strict SLAs.

The public API of the core: definitions, the compiler, the registry and the kernel.
Names are imported when first used, so that ``import relentless.worker`` (or the
admin client) needs neither NumPy nor the compiled kernel: a worker installs light.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "allocate_outputs": "relentless.core.batch",
    "CompiledDefinition": "relentless.core.compiler",
    "compile_definition": "relentless.core.compiler",
    "RESERVED_LABEL": "relentless.core.definition",
    "Backoff": "relentless.core.definition",
    "Definition": "relentless.core.definition",
    "Node": "relentless.core.definition",
    "advance": "relentless.core.kernel",
    "definition_from_data": "relentless.core.reader",
    "load_definition": "relentless.core.reader",
    "parse_definition": "relentless.core.reader",
    "PackedTables": "relentless.core.registry",
    "Registry": "relentless.core.registry",
    "Status": "relentless.core.status",
    "BatchShapeError": "relentless.errors",
    "DefinitionInvalid": "relentless.errors",
    "InternalError": "relentless.errors",
    "KernelUnavailable": "relentless.errors",
    "Problem": "relentless.errors",
    "RelentlessError": "relentless.errors",
    "UserError": "relentless.errors",
}
"""Where each public name lives."""

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


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'relentless' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
