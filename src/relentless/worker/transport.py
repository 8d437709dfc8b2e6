"""The worker's HTTP client: JSON over the worker protocol, retrying what is worth retrying.

Network errors, timeouts and 5xx/408/429 answers are retried with exponential backoff
and jitter; any other 4xx is a RequestRefused at once, since sending it again would
get the same answer.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

import aiohttp
import msgspec

from relentless import protocol
from relentless.errors import RelentlessError
from relentless.worker.stats import WorkerStats

T = TypeVar("T", bound=protocol.Response)

log = logging.getLogger("relentless.worker")

_RETRIED_STATUSES = frozenset({408, 429})
_LOUD_EVERY = 10
"""Log every failure up to this many in a row at warning level, then one in this many."""


class GatewayError(RelentlessError):
    """The worker could not get an answer it can use from the server."""


class RequestRefused(GatewayError):
    """The server refused a request (4xx); sending it again would not help."""

    def __init__(self, path: str, status: int, code: str, message: str) -> None:
        super().__init__(f"POST {path} refused with {status} {code}: {message}")
        self.path = path
        self.status = status
        self.code = code


class AnswerNotUnderstood(GatewayError):
    """The server's answer does not decode (a newer server, say); upgrade the SDK."""

    def __init__(self, path: str, status: int, kind: str, problem: str) -> None:
        super().__init__(f"POST {path} answered {status} with a body that is not a {kind} "
                         f"({problem}); is the server newer than this worker?")


class Unavailable(GatewayError):
    """The server did not answer before the worker stopped trying."""


class _Retryable(Exception):
    """A failure another try may cure."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Exponential backoff from ``initial_seconds`` up to ``max_seconds``, with jitter."""

    initial_seconds: float = 0.2
    max_seconds: float = 10.0

    def delay(self, failures: int) -> float:
        """Half the capped exponential delay, plus up to as much again at random, so that
        many workers failing together do not retry together yet none spins."""
        ceiling = min(self.max_seconds, self.initial_seconds * 2.0 ** min(failures - 1, 32))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


class Gateway:
    """POSTs to one server with one token; use as ``async with Gateway(...) as gateway``."""

    def __init__(self, url: str, token: str, *, retry: Retry, timeout_seconds: float,
                 stats: WorkerStats) -> None:
        self._url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}",
                         "Content-Type": "application/json"}
        self._retry = retry
        self._timeout_seconds = timeout_seconds
        self._stats = stats
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Gateway:
        self._session = aiohttp.ClientSession(headers=self._headers)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, path: str, body: protocol.Request, answer: type[T], *,
                   extra_seconds: float = 0.0, give_up: asyncio.Event | None = None,
                   deadline: float | None = None) -> T:
        """The answer as ``answer``, retried until it comes, ``give_up`` is set or ``deadline``
        (event-loop time) would pass; then Unavailable. ``extra_seconds`` lengthens the
        request timeout, for long polls."""
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            try:
                decoded = await self._post_once(path, body, answer, extra_seconds)
            except _Retryable as exc:
                failures += 1
                self._stats.retried_requests += 1
                delay = self._retry.delay(failures)
                level = logging.WARNING if _loud(failures) else logging.DEBUG
                log.log(level, "POST %s failed (%s, %d in a row); retrying in %.2fs",
                        path, exc, failures, delay)
                if deadline is not None and loop.time() + delay > deadline:
                    raise Unavailable(f"POST {path}: gave up after {failures} failures: "
                                      f"{exc}") from None
                if await _wait(give_up, delay):
                    raise Unavailable(f"POST {path}: stopped trying after {failures} "
                                      f"failures: {exc}") from None
                continue
            if failures:
                log.info("POST %s answered again after %d failures", path, failures)
            return decoded

    async def _post_once(self, path: str, body: protocol.Request, answer: type[T],
                         extra_seconds: float) -> T:
        assert self._session is not None, "use the Gateway as an async context manager"
        self._stats.requests[path] += 1
        timeout = aiohttp.ClientTimeout(total=self._timeout_seconds + extra_seconds)
        try:
            async with self._session.post(self._url + path, data=msgspec.json.encode(body),
                                          timeout=timeout) as response:
                payload = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Retryable(_describe(exc)) from None
        if status >= 500 or status in _RETRIED_STATUSES:
            raise _Retryable(f"HTTP {status}")
        if status >= 400:
            self._stats.refused_requests += 1
            code, message = _error_of(payload)
            raise RequestRefused(path, status, code, message)
        try:
            return msgspec.json.decode(payload, type=answer)
        except msgspec.ValidationError as exc:
            # Sending it again gets the same answer: a server newer than this SDK.
            raise AnswerNotUnderstood(path, status, answer.__name__, str(exc)) from None
        except msgspec.DecodeError:
            raise _Retryable(f"HTTP {status} with a body that is not JSON") from None


async def _wait(event: asyncio.Event | None, seconds: float) -> bool:
    """Sleep ``seconds``, waking early if ``event`` is set; whether it is set."""
    if event is None:
        await asyncio.sleep(seconds)
        return False
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


def _loud(failures: int) -> bool:
    return failures <= _LOUD_EVERY or failures % _LOUD_EVERY == 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _error_of(payload: bytes) -> tuple[str, str]:
    """The code and message of a JSON error body, or placeholders for any other body."""
    try:
        error = msgspec.json.decode(payload, type=protocol.ErrorResponse).error
    except msgspec.DecodeError:  # ValidationError included: not one of our error bodies
        return "http_error", payload[:200].decode(errors="replace")
    return error.code, error.message
