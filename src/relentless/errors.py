"""Every exception Relentless raises, rooted in one class and split by whose fault it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class RelentlessError(Exception):
    """Something went wrong in Relentless."""


class UserError(RelentlessError):
    """The input given to Relentless is wrong; fixing the input fixes the error."""


class InternalError(RelentlessError):
    """Relentless itself is broken or mis-installed; the input is not at fault."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition: what, where, and what to do about it.

    ``node`` and ``field`` locate the problem (``None`` when it concerns the whole
    definition); ``line`` is the 1-based source line when the format reports one.
    """

    code: str
    message: str
    hint: str
    node: str | None = None
    field: str | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        """Where the problem is, readable: ``node 'charge', field 'on.ok'``."""
        parts = []
        if self.node is not None:
            parts.append(f"node {self.node!r}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts) or "definition"

    def __str__(self) -> str:
        line = f"line {self.line}, " if self.line is not None else ""
        return f"{line}{self.location}: {self.message} (fix: {self.hint})"


class DefinitionInvalid(UserError):
    """The workflow definition has problems; each one says where it is and what to do."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        origin = f"{source}: " if source else ""
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{origin}definition has {count} {noun}:\n{lines}")


class StoreUnavailable(InternalError):
    """PostgreSQL cannot be reached or started; the message says which and where to look."""


class InvalidData(UserError):
    """A value PostgreSQL cannot store (a NUL character in text, say); nothing was changed."""


class KernelUnavailable(InternalError):
    """The compiled transition kernel could not be imported; reinstall to build it."""


class BatchShapeError(UserError):
    """A batch given to the transition kernel has the wrong dtype, layout or length."""


class ApiRefused(UserError):
    """The server refused a request; carries its status, code and details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code
        self.details = details
