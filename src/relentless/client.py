"""A small async client of the operator API, for the command line, the demo and scripts.

Requests and answers are the protocol's messages (relentless.protocol), the same
types the server decodes and encodes.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import msgspec

from relentless import protocol
from relentless.errors import ApiRefused

__all__ = ["AdminClient", "ApiRefused"]

T = TypeVar("T")


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

    async def request(self, method: str, path: str, answer: type[T], *,
                      body: protocol.Request | None = None, answers: tuple[int, ...] = (),
                      **kwargs: Any) -> T:
        """The answer as ``answer``; raises ApiRefused with the server's error.

        Statuses in ``answers`` carry a regular body (an action refused with 409).
        """
        if body is not None:
            kwargs["data"] = msgspec.json.encode(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        async with self._session.request(method, path.lstrip("/"), **kwargs) as response:
            payload = await response.read()
            if response.status >= 400 and response.status not in answers:
                raise _refusal(response.status, response.reason or "", payload)
            try:
                return msgspec.json.decode(payload, type=answer)
            except msgspec.DecodeError as exc:
                raise ApiRefused(response.status, "unexpected_answer",
                                 f"the server's answer is not a {answer.__name__}: {exc}"
                                 ) from None

    async def publish(self, text: str, json_format: bool = False) -> protocol.PublishedDefinition:
        headers = {"Content-Type": "application/json" if json_format else "application/yaml"}
        return await self.request("POST", "v1/definitions", protocol.PublishedDefinition,
                                  data=text.encode(), headers=headers)

    async def definitions(self) -> protocol.DefinitionList:
        return await self.request("GET", "v1/definitions", protocol.DefinitionList)

    async def definition_stats(self, name: str, version: int,
                               since: datetime | None = None) -> protocol.DefinitionStats:
        params = {"since": since.isoformat()} if since is not None else {}
        return await self.request(
            "GET", f"v1/definitions/{name}/{version}/stats",
            protocol.DefinitionStats, params=params)

    async def start(self, definition: str, *, version: int | None = None,
                    key: str | None = None,
                    context: dict[str, Any] | None = None) -> protocol.StartResult:
        return await self.request("POST", "v1/workflows", protocol.StartResult,
                                  body=protocol.StartWorkflow(definition=definition,
                                                              version=version, key=key,
                                                              context=context))

    async def start_batch(self, workflows: list[protocol.StartWorkflow]
                          ) -> protocol.StartBatchResponse:
        return await self.request("POST", "v1/workflows/batch", protocol.StartBatchResponse,
                                  body=protocol.StartBatch(workflows=workflows))

    async def prune(self, older_than_seconds: float, *, dry_run: bool = False
                    ) -> protocol.PruneResult:
        return await self.request("POST", "v1/workflows/prune", protocol.PruneResult,
                                  body=protocol.PruneRequest(
                                      older_than_seconds=older_than_seconds, dry_run=dry_run))

    async def workflow(self, workflow_id: int) -> protocol.WorkflowView:
        return await self.request("GET", f"v1/workflows/{workflow_id}", protocol.WorkflowView)

    async def history(self, workflow_id: int) -> protocol.History:
        return await self.request("GET", f"v1/workflows/{workflow_id}/history",
                                  protocol.History)

    async def timeline(self, workflow_id: int, after_step: int = 0,
                       limit: int = 100) -> protocol.Timeline:
        return await self.request("GET", f"v1/workflows/{workflow_id}/timeline",
                                  protocol.Timeline,
                                  params={"after_step": str(after_step), "limit": str(limit)})

    async def workflows(self, filters: protocol.WorkflowQuery) -> protocol.WorkflowPage:
        query = {name: str(value).lower() if isinstance(value, bool) else str(value)
                 for name, value in msgspec.to_builtins(filters).items()}
        return await self.request("GET", "v1/workflows", protocol.WorkflowPage, params=query)

    async def cancel(self, workflow_id: int, reason: str = "", *,
                     step: int | None = None) -> protocol.ActionResult:
        """Cancel; the server records the token's name as who did it."""
        return await self._action(f"v1/workflows/{workflow_id}/cancel",
                                  protocol.CancelRequest(reason=reason, step=step))

    async def move(self, workflow_id: int, node: str, reason: str = "", *,
                   step: int | None = None) -> protocol.ActionResult:
        return await self._action(f"v1/workflows/{workflow_id}/move",
                                  protocol.MoveRequest(node=node, reason=reason, step=step))

    async def retry(self, workflow_id: int, reason: str = "", *,
                    step: int | None = None) -> protocol.ActionResult:
        return await self._action(f"v1/workflows/{workflow_id}/retry",
                                  protocol.RetryRequest(reason=reason, step=step))

    async def bulk(self, action: str, body: protocol.BulkRequest) -> protocol.BulkResult:
        return await self.request("POST", f"v1/workflows/bulk/{action}", protocol.BulkResult,
                                  body=body)

    async def definition_versions(self, name: str) -> protocol.DefinitionVersions:
        return await self.request("GET", f"v1/definitions/{name}", protocol.DefinitionVersions)

    async def definition(self, name: str, version: int) -> protocol.DefinitionDetail:
        return await self.request("GET", f"v1/definitions/{name}/{version}",
                                  protocol.DefinitionDetail)

    async def manual_steps(self, limit: int = 100) -> protocol.ManualSteps:
        return await self.request("GET", "v1/manual-steps", protocol.ManualSteps,
                                  params={"limit": str(limit)})

    async def claim(self, job_id: str) -> protocol.ClaimResult:
        return await self.request("POST", f"v1/manual-steps/{job_id}/claim",
                                  protocol.ClaimResult, answers=(409,))

    async def complete_manual(self, job_id: str, label: str,
                              output: dict[str, Any] | None = None) -> protocol.ActionResult:
        return await self._action(f"v1/manual-steps/{job_id}/complete",
                                  protocol.ManualCompletion(label=label, output=output))

    async def _action(self, path: str, body: protocol.Request | None = None
                      ) -> protocol.ActionResult:
        """An operator action: a refusal (409) is an answer, not an error."""
        return await self.request("POST", path, protocol.ActionResult, body=body,
                                  answers=(409,))


def _refusal(status: int, reason: str, payload: bytes) -> ApiRefused:
    """The server's error as ApiRefused, whatever the body (a proxy's page, say)."""
    try:
        error = msgspec.json.decode(payload, type=protocol.ErrorResponse).error
    except msgspec.DecodeError:
        return ApiRefused(status, "error", payload[:200].decode(errors="replace") or reason)
    return ApiRefused(status, error.code, error.message, error.details)
