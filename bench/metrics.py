"""What a scrape of /metrics costs: ``python -m bench.metrics [--json]``.

A real server (in this process, on the embedded PostgreSQL) over a database holding
``--stored`` finished workflows (1,000,000 by default) and ``--live`` running ones, its
gauge cache off so that every scrape reads PostgreSQL; ``--scrapes`` scrapes over HTTP
with an admin token, timed one by one. The check: the 99th percentile under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bench import fixtures
from bench.e2e.database import create_database, drop_database
from bench.engine import embedded_server, progress
from relentless.config import Config
from relentless.engine.engine import Engine
from relentless.engine.values import StartRequest
from relentless.service.app import create_app

TARGET_MS = 50.0
ADMIN, WORKER = "bench-admin-token", "bench-worker-token"


DATABASE = "relentless_bench_metrics"


async def prepare(server_dsn: str, stored: int, live: int) -> str:
    dsn = await create_database(server_dsn, DATABASE)
    engine = await Engine.connect(dsn, min_size=1, max_size=2)
    try:
        await engine.definitions.publish(fixtures.linear_definition())
        loaded = await engine.definitions.resolve(fixtures.DEFINITION)
        assert loaded is not None
        progress(f"storing {stored:,} finished workflows ...")
        await fixtures.store_finished(dsn, loaded.id, stored)
        await engine.workflows.start([StartRequest(fixtures.DEFINITION)] * live)
    finally:
        await engine.close()
    return dsn


async def scrape(dsn: str, scrapes: int) -> list[float]:
    """Milliseconds of each scrape, the first (connection set-up) left out."""
    config = Config(dsn=dsn, admin_token=ADMIN, worker_token=WORKER, metrics_cache_seconds=0)
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    timings = []
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN}"}) as http:
            for _ in range(scrapes + 1):
                began = time.perf_counter()
                async with http.get(server.make_url("/metrics")) as answer:
                    assert answer.status == 200, await answer.text()
                    await answer.read()
                timings.append((time.perf_counter() - began) * 1000)
    finally:
        await server.close()
    return timings[1:]


async def measure(stored: int, live: int, scrapes: int) -> dict[str, Any]:
    server_dsn = embedded_server()
    dsn = await prepare(server_dsn, stored, live)
    try:
        timings = sorted(await scrape(dsn, scrapes))
    finally:
        await drop_database(server_dsn, DATABASE)
    p99 = timings[min(len(timings) - 1, int(0.99 * len(timings)))]
    return {"stored": stored, "live": live, "scrapes": scrapes,
            "median_ms": round(statistics.median(timings), 2), "p99_ms": round(p99, 2),
            "max_ms": round(timings[-1], 2),
            "checks": {"p99_under_50ms": {"target": TARGET_MS, "value": round(p99, 2),
                                           "met": p99 < TARGET_MS}}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics", description=__doc__)
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--live", type=int, default=1_000)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args(argv)
    result = asyncio.run(measure(arguments.stored, arguments.live, arguments.scrapes))
    if arguments.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"/metrics with {result['stored']:,} stored: median {result['median_ms']} ms, "
              f"p99 {result['p99_ms']} ms (target < {TARGET_MS:g} ms)")
    return 0 if result["checks"]["p99_under_50ms"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
