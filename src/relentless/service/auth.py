"""Bearer tokens with names and scopes: a worker token may use the worker protocol, a
viewer token may read, an admin token may do everything. Tokens are compared in
constant time, and the caller's name is kept on the request for the audit trail."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from aiohttp import web

from relentless.service.errors import ApiError, Handler
from relentless.tokens import NamedToken, Scope, check_distinct

__all__ = ["CALLER", "Scope", "Tokens", "auth_middleware", "caller_name"]

CALLER = web.RequestKey("caller", NamedToken)
"""The token a request was authenticated with (absent on public routes)."""


class Tokens:
    def __init__(self, tokens: Iterable[NamedToken]) -> None:
        self._tokens = tuple(tokens)
        check_distinct(self._tokens)
        if not any(Scope.ADMIN in each.scopes for each in self._tokens):
            raise ValueError("no token has the admin scope")
        workers = [each for each in self._tokens if each.scopes == {Scope.WORKER}]
        admins = [each for each in self._tokens if Scope.ADMIN in each.scopes]
        if {w.token for w in workers} & {a.token for a in admins}:
            raise ValueError("the admin and worker tokens must differ: a worker would be admin")

    def identify(self, token: str) -> NamedToken | None:
        """The configured token ``token`` is, if any; every one is compared, so the time
        taken says nothing about which matched."""
        presented = token.encode("utf-8", "surrogateescape")
        found = None
        for each in self._tokens:
            if hmac.compare_digest(presented, each.token.encode()):
                found = each
        return found

    def scopes_of(self, token: str) -> frozenset[Scope]:
        """What a presented token may do (nothing, if it matches no token)."""
        named = self.identify(token)
        return named.granted if named is not None else frozenset()


def caller_name(request: web.Request) -> str:
    """Who is acting: the name of the request's token."""
    return request[CALLER].name


def auth_middleware(tokens: Tokens, needs: dict[str, Scope]) -> web.middleware:  # type: ignore[valid-type]
    """Check the bearer token against the scope the matched route needs."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.name
        needed = needs.get(route or "")
        if needed is None:
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
        named = tokens.identify(token.strip())
        if named is None:
            raise ApiError(401, "unauthorized", "the token is not valid")
        if needed not in named.granted:
            raise ApiError(403, "forbidden", f"this route needs the {needed} scope")
        request[CALLER] = named
        return await handler(request)

    return check
