"""pytest-benchmark suite of the engine: ``pytest bench/test_engine.py -m benchmark``.

A smaller cousin of ``python -m bench.engine``: each round starts WORKFLOWS fresh
workflows (not timed) and times the workers driving them to the leaf, on an empty
database and on one holding 100,000 finished workflows. The million-workflow
scenario takes a minute to load, so it lives in the runner only.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import engine as runner_module
from bench.e2e.database import drop_database
from bench.engine import Settings
from relentless.engine.engine import Engine
from relentless.store.embedded import start_embedded

pytestmark = pytest.mark.benchmark

WORKFLOWS = 1_000
ROUNDS = 3


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture(scope="module")
def server_dsn() -> str:
    return start_embedded(Path(tempfile.mkdtemp(prefix="relentless-bench-")) / "data",
                          delete_on_exit=True)


@pytest.mark.parametrize("stored", [0, 100_000])
def test_steps_through_lease_and_complete(benchmark: Any, loop: asyncio.Runner,
                                          server_dsn: str, stored: int) -> None:
    settings = Settings(workflows=WORKFLOWS, stored=(stored,))
    name = f"pytest_{stored}"
    scenario = loop.run(runner_module.prepare(server_dsn, name, stored, settings))
    engine = loop.run(Engine.connect(scenario.dsn, min_size=settings.workers + 1,
                                     max_size=settings.workers + 1))
    try:
        benchmark.pedantic(
            lambda: loop.run(runner_module.drive(engine, settings)),
            setup=lambda: loop.run(runner_module.start_workflows(engine, settings.workflows)),
            rounds=ROUNDS, iterations=1)
    finally:
        loop.run(engine.close())
        loop.run(drop_database(server_dsn, f"relentless_bench_{name}"))
    benchmark.extra_info["steps_per_s"] = round(settings.total_steps / benchmark.stats["median"])
