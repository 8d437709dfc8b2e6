"""A published version and its history, fetched from a server's API for analyze and simulate.

``NAME`` or ``NAME@VERSION`` names the version (the latest when no version is given);
the token needs the viewer scope. The definition is read from its stored source, so
that ``--set`` overrides apply to it as to a file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from relentless import protocol
from relentless.client import AdminClient
from relentless.core.durations import parse_duration
from relentless.errors import ApiRefused, UserError


class RemoteUnavailable(UserError):
    """The server could not be asked, or refused to answer."""


@dataclass(frozen=True, slots=True)
class Published:
    """One version as the server holds it, and what its workers did if asked."""

    detail: protocol.DefinitionDetail
    stats: protocol.DefinitionStats | None


def parse_reference(text: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME@VERSION``."""
    name, _, version = text.partition("@")
    if not name:
        raise UserError(f"{text!r}: name a definition, as NAME or NAME@VERSION")
    if not version:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise UserError(f"{text!r}: the version after @ must be a whole number from 1")
    return name, int(version)


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """An ISO time, or a duration back from now (``7d``, ``12h``)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            back = parse_duration(text)
        except ValueError:
            raise UserError(f"--since {text!r}: give an ISO time (2026-05-01T00:00:00Z) "
                            "or a duration back from now (7d, 12h)") from None
        return (now or datetime.now(UTC)) - timedelta(milliseconds=back)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def fetch(url: str, token: str | None, reference: str, *, stats: bool,
          since: datetime | None = None) -> Published:
    """The version named by ``reference`` on the server at ``url`` (and its stats)."""
    if not token:
        raise UserError("no token: pass --token or set RELENTLESS_ADMIN_TOKEN")
    name, version = parse_reference(reference)
    try:
        return asyncio.run(_fetch(url, token, name, version, stats, since))
    except ApiRefused as exc:
        raise RemoteUnavailable(f"{url}: {exc}") from None
    except OSError as exc:
        raise RemoteUnavailable(f"{url}: cannot connect: {exc}") from None


async def _fetch(url: str, token: str, name: str, version: int | None, stats: bool,
                 since: datetime | None) -> Published:
    async with AdminClient(url, token) as client:
        if version is None:
            versions = await client.request("GET", f"v1/definitions/{name}",
                                            protocol.DefinitionVersions)
            version = max(v.version for v in versions.versions)
        detail = await client.request("GET", f"v1/definitions/{name}/{version}",
                                      protocol.DefinitionDetail)
        counted = await client.definition_stats(name, version, since) if stats else None
    return Published(detail, counted)

