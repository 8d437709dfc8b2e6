"""Named tokens and their scopes: who may do what, and whose name an action records.

A token in the configuration has a name, its secret and its scopes. The name is what
the audit trail says did a move, a cancel or a manual completion, so that nobody can
act under another's name by writing it in a request body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Scope(StrEnum):
    """What a token may do; ``admin`` implies every other scope."""

    ADMIN = "admin"
    """Everything: the operator API's actions, and what every other scope allows."""
    WORKER = "worker"
    """The worker protocol: lease, complete, fail, heartbeat, release."""
    VIEWER = "viewer"
    """Read everything (the operator API's GET routes, the console), change nothing."""
    METRICS = "metrics"
    """Scrape /metrics."""


class TokenProblem(ValueError):
    """A token in the configuration is malformed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class NamedToken:
    name: str
    token: str
    scopes: frozenset[Scope]

    @property
    def granted(self) -> frozenset[Scope]:
        """The scopes this token has, ``admin`` expanded to all of them."""
        return frozenset(Scope) if Scope.ADMIN in self.scopes else self.scopes


def token_from(entry: Mapping[str, Any], where: str) -> NamedToken:
    """One ``[[tokens]]`` table (name, token, scopes) as a NamedToken."""
    unknown = sorted(set(entry) - {"name", "token", "scopes"})
    if unknown:
        raise TokenProblem(f"{where}: unknown keys {unknown}; a token has name, token, scopes")
    name, token, scopes = entry.get("name"), entry.get("token"), entry.get("scopes")
    if not isinstance(name, str) or not name.strip():
        raise TokenProblem(f"{where}: name must be a non-empty string, not {name!r}")
    if not isinstance(token, str) or len(token) < 8:
        raise TokenProblem(f"{where} ({name}): token must be a string of 8 characters or more")
    if not isinstance(scopes, list) or not scopes:
        raise TokenProblem(f"{where} ({name}): scopes must be a non-empty list of "
                           f"{[scope.value for scope in Scope]}")
    wrong = sorted(str(scope) for scope in scopes if scope not in set(Scope))
    if wrong:
        raise TokenProblem(f"{where} ({name}): {wrong} are not scopes; choose from "
                           f"{[scope.value for scope in Scope]}")
    return NamedToken(name.strip(), token, frozenset(Scope(scope) for scope in scopes))


def check_distinct(tokens: Iterable[NamedToken]) -> None:
    """Names and secrets are unique: a shared secret would give one caller two names."""
    names: set[str] = set()
    secrets: set[str] = set()
    for each in tokens:
        if each.name in names:
            raise TokenProblem(f"two tokens are named {each.name!r}")
        if each.token in secrets:
            raise TokenProblem(f"tokens {each.name!r} and another have the same secret")
        names.add(each.name)
        secrets.add(each.token)
