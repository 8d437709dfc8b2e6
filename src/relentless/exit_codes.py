"""The exit codes of every ``relentless`` command, and which error gives which."""

from __future__ import annotations

from enum import IntEnum

from relentless.errors import ApiRefused, DefinitionInvalid, InternalError, RelentlessError


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    """The input is invalid, or the server refused the request."""
    USAGE = 2
    """A flag, a file or an address is wrong; fixing the command line fixes it."""
    UNFINISHED = 3
    """The demo's workflows did not all end in time."""
    UNAVAILABLE = 4
    """Relentless cannot run here: PostgreSQL is unreachable, or the installation is broken."""
    INTERRUPTED = 130


def exit_code_of(error: RelentlessError) -> ExitCode:
    """The exit code that reports ``error``, by whose fault it is."""
    if isinstance(error, DefinitionInvalid | ApiRefused):
        return ExitCode.REFUSED
    if isinstance(error, InternalError):
        return ExitCode.UNAVAILABLE
    return ExitCode.USAGE
