"""Bearer tokens with scopes: a worker token may use the worker protocol, an admin
token may do everything. Tokens are compared in constant time."""

from __future__ import annotations

import hmac
from enum import StrEnum

from aiohttp import web

from relentless.service.errors import ApiError, Handler


class Scope(StrEnum):
    WORKER = "worker"
    ADMIN = "admin"
    METRICS = "metrics"


class Tokens:
    def __init__(self, admin: str, worker: str) -> None:
        if admin == worker:
            raise ValueError("the admin and worker tokens must differ: a worker would be admin")
        self._admin = admin.encode()
        self._worker = worker.encode()

    def scopes_of(self, token: str) -> frozenset[Scope]:
        """What a presented token may do (nothing, if it matches no token)."""
        presented = token.encode("utf-8", "surrogateescape")
        if hmac.compare_digest(presented, self._admin):
            return frozenset(Scope)
        if hmac.compare_digest(presented, self._worker):
            return frozenset({Scope.WORKER})
        return frozenset()


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
        scopes = tokens.scopes_of(token.strip())
        if not scopes:
            raise ApiError(401, "unauthorized", "the token is not valid")
        if needed not in scopes:
            raise ApiError(403, "forbidden", f"this route needs the {needed} scope")
        return await handler(request)

    return check
