"""Reading requests into typed values (body, path and query), and writing typed values
as JSON; what does not decode is a 400 naming the bad field."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from aiohttp import web

from relentless.protocol import PATH_PARAMETERS
from relentless.service.errors import ApiError
from relentless.service.keys import CONFIG

T = TypeVar("T")

_encoder = msgspec.json.Encoder()


async def read(request: web.Request, kind: type[T]) -> T:
    """The body as ``kind``; 400 naming the bad field if it is not one."""
    body = await request.read()
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None


async def read_optional(request: web.Request, kind: type[T]) -> T:
    """The body as ``kind``, or ``kind()`` with its defaults when there is no body."""
    if not await request.read():
        return kind()
    return await read(request, kind)


def query(request: web.Request, kind: type[T]) -> T:
    """The query parameters as ``kind``; 400 naming the bad parameter if they are not."""
    try:
        return msgspec.convert(dict(request.query), kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid_request", f"query parameters: {exc}") from None


def path_parameter(request: web.Request, name: str) -> Any:
    """The path parameter ``name``, of its type in the protocol; 400 if it is not one."""
    value = request.match_info[name]
    try:
        return msgspec.convert(value, PATH_PARAMETERS[name], strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid_request",
                       f"{name} {value!r} in the path: {exc}") from None


def limit_batch(request: web.Request, count: int, what: str) -> None:
    """Refuse batches over the configured limit before touching the database."""
    limit = request.app[CONFIG].max_batch
    if count > limit:
        raise ApiError(413, "batch_too_large",
                       f"{count} {what} in one request; the limit is {limit}")


def answer(value: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=_encoder.encode(value),
                        content_type="application/json")
