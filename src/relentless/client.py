"""A small async client of the operator API, for the command line and for scripts."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import aiohttp

from relentless.errors import UserError


class ApiRefused(UserError):
    """The server answered with an error; carries its status, code and details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code
        self.details = details


class AdminClient:
    """The operator API at ``url`` with an admin token; use as ``async with``."""

    def __init__(self, url: str, token: str, timeout_seconds: float = 30.0) -> None:
        self._session = aiohttp.ClientSession(
            base_url=url.rstrip("/") + "/", headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=timeout_seconds))

    async def __aenter__(self) -> AdminClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self._session.close()

    async def request(self, method: str, path: str, *, answers: tuple[int, ...] = (),
                      **kwargs: Any) -> Any:
        """The decoded JSON answer; raises ApiRefused with the server's error.

        Statuses in ``answers`` carry a regular body (an action refused with 409).
        """
        async with self._session.request(method, path.lstrip("/"), **kwargs) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:  # not JSON: a proxy's error page, say
                body = {"error": {"code": "not_json", "message": (await response.text())[:200]}}
            if response.status >= 400 and response.status not in answers:
                error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
                raise ApiRefused(response.status, error.get("code", "error"),
                                 error.get("message", response.reason or ""),
                                 error.get("details"))
            return body

    async def publish(self, text: str, json_format: bool = False) -> Any:
        headers = {"Content-Type": "application/json" if json_format else "application/yaml"}
        return await self.request("POST", "v1/definitions", data=text.encode(), headers=headers)

    async def definitions(self) -> Any:
        return await self.request("GET", "v1/definitions")

    async def start(self, definition: str, *, version: int | None = None,
                    key: str | None = None, context: dict[str, Any] | None = None) -> Any:
        body = {"definition": definition, "version": version, "key": key, "context": context}
        return await self.request("POST", "v1/workflows",
                                  json={k: v for k, v in body.items() if v is not None})

    async def workflow(self, workflow_id: int) -> Any:
        return await self.request("GET", f"v1/workflows/{workflow_id}")

    async def history(self, workflow_id: int) -> Any:
        return await self.request("GET", f"v1/workflows/{workflow_id}/history")

    async def workflows(self, **filters: Any) -> Any:
        query = {k: str(v) for k, v in filters.items() if v is not None}
        return await self.request("GET", "v1/workflows", params=query)

    async def cancel(self, workflow_id: int) -> Any:
        return await self._action("POST", f"v1/workflows/{workflow_id}/cancel")

    async def move(self, workflow_id: int, node: str, reason: str, by: str) -> Any:
        return await self._action("POST", f"v1/workflows/{workflow_id}/move",
                                  json={"node": node, "reason": reason, "by": by})

    async def _action(self, method: str, path: str, **kwargs: Any) -> Any:
        """An operator action: a refusal (409) is an answer, not an error."""
        return await self.request(method, path, answers=(409,), **kwargs)
