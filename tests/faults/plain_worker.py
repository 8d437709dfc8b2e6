"""A worker process that records what the server told it: every job it leased, and
every completion the server answered ``accepted`` (one line each, flushed at once, so a
SIGKILL loses nothing already written).

It speaks the worker protocol directly: lease a batch, work ``--delay`` seconds,
complete it with ``ok``, retrying a completion (idempotent) on any node until it gets
an answer; a node that does not answer sends it to the next one.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any, TextIO

import aiohttp

RETRY_COMPLETION_SECONDS = 60.0


class Nodes:
    """The nodes' URLs, the current one first; ``next`` moves on after a failure."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.turn = 0

    @property
    def url(self) -> str:
        return self.urls[self.turn % len(self.urls)]

    def next(self) -> None:
        self.turn += 1


def _write(out: TextIO, job_ids: list[str]) -> None:
    at = time.time()
    out.write("".join(f"{job_id} {at:.3f}\n" for job_id in job_ids))
    out.flush()


async def _post(session: aiohttp.ClientSession, nodes: Nodes, path: str,
                body: dict[str, Any], timeout: float) -> Any:
    """The JSON answer, or None if the node did not give one (gone, or 5xx)."""
    try:
        async with session.post(nodes.url + path, json=body,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            if response.status >= 500:
                return None
            response.raise_for_status()
            return await response.json()
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None


async def _complete(session: aiohttp.ClientSession, nodes: Nodes, job_ids: list[str],
                    acks: TextIO) -> None:
    body = {"completions": [{"job_id": job_id, "label": "ok"} for job_id in job_ids]}
    deadline = time.monotonic() + RETRY_COMPLETION_SECONDS
    while time.monotonic() < deadline:
        answer = await _post(session, nodes, "/v1/jobs/complete", body, 30)
        if answer is not None:
            _write(acks, [item["job_id"] for item in answer["results"]
                          if item["result"] == "accepted"])
            return
        nodes.next()
        await asyncio.sleep(0.1)


async def serve(options: argparse.Namespace) -> None:
    nodes = Nodes(options.urls.split(","))
    lease = {"worker": options.name, "operations": options.operations.split(","),
             "max_jobs": options.batch, "lease_seconds": options.lease_seconds,
             "wait_seconds": options.wait_seconds}
    headers = {"Authorization": f"Bearer {options.token}"}
    with open(options.acks, "a") as acks, open(options.leases, "a") as leases:
        async with aiohttp.ClientSession(headers=headers) as session:
            while True:
                answer = await _post(session, nodes, "/v1/jobs/lease", lease,
                                     options.wait_seconds + 30)
                if answer is None:
                    nodes.next()
                    await asyncio.sleep(0.1)
                    continue
                job_ids = [job["job_id"] for job in answer["jobs"]]
                if not job_ids:
                    continue
                _write(leases, job_ids)
                await asyncio.sleep(options.delay)
                await _complete(session, nodes, job_ids, acks)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--urls", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--acks", required=True)
    parser.add_argument("--leases", required=True)
    parser.add_argument("--operations", default="work")
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--lease-seconds", type=float, default=10.0)
    parser.add_argument("--wait-seconds", type=float, default=1.0)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
