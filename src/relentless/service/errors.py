"""The one place where exceptions become HTTP answers: JSON, the right status, no traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from relentless.errors import DefinitionInvalid, InvalidData, StoreUnavailable
from relentless.protocol import ErrorBody, ErrorResponse

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An answer other than success: status, a stable code, a message, details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} does not exist")


def error_response(status: int, code: str, message: str, details: Any = None) -> web.Response:
    error = ErrorBody(code=code, message=message, details=details)
    body = msgspec.json.encode(ErrorResponse(error=error))
    return web.Response(status=status, body=body, content_type="application/json")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map every failure to a JSON error; log what is ours to fix."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status, "http_error")
        return error_response(exc.status, code, exc.reason)
    except Exception as exc:
        return _error_for(request, exc)


def _error_for(request: web.Request, exc: Exception) -> web.Response:
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, DefinitionInvalid):
        problems = [{"code": p.code, "node": p.node, "field": p.field, "line": p.line,
                     "message": p.message, "hint": p.hint} for p in exc.problems]
        count = len(problems)
        message = f"the definition has {count} problem{'s' if count != 1 else ''}"
        return error_response(422, "invalid_definition", message, problems)
    if isinstance(exc, InvalidData):
        return error_response(400, "invalid_data", str(exc))
    if isinstance(exc, StoreUnavailable):
        log.warning("store unavailable: %s", exc)
        return error_response(503, "unavailable", "the database is unavailable; retry later")
    log.error("unexpected error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "internal", "an unexpected error occurred; it was logged")
