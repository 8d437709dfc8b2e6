"""The store: migrations, the embedded server's data surviving a restart."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import asyncpg

from relentless.store.migrations import available, migrate
from tests.postgres import with_database


def test_migrations_applied_by_several_processes_at_once_apply_once(
        server_dsn: str, run: Any) -> None:
    async def scenario() -> list[list[int]]:
        admin = await asyncpg.connect(server_dsn)
        await admin.execute('DROP DATABASE IF EXISTS "concurrent_migrations"')
        await admin.execute('CREATE DATABASE "concurrent_migrations"')
        await admin.close()
        dsn = with_database(server_dsn, "concurrent_migrations")
        connections = [await asyncpg.connect(dsn) for _ in range(4)]
        try:
            return list(await asyncio.gather(*(migrate(c) for c in connections)))
        finally:
            for connection in connections:
                await connection.close()

    applied = run(scenario())
    everything = [migration.version for migration in available()]
    assert sorted(applied, key=len) == [[], [], [], everything]


def test_migrating_an_up_to_date_database_changes_nothing(database_dsn: str, run: Any) -> None:
    async def again() -> list[int]:
        connection = await asyncpg.connect(database_dsn)
        try:
            return await migrate(connection)
        finally:
            await connection.close()

    assert run(again()) == []


STEP_ONE = """
import asyncio, sys
from pathlib import Path
from relentless.engine.engine import Engine
from relentless.engine.values import StartRequest
from relentless.store.embedded import start_embedded

async def main():
    engine = await Engine.connect(start_embedded(Path(sys.argv[1])))
    await engine.definitions.publish(Path(sys.argv[2]).read_text())
    [started] = await engine.workflows.start([StartRequest("payment", key="kept")])
    print(started.workflow_id)
    await engine.close()

asyncio.run(main())
"""

STEP_TWO = """
import asyncio, sys
from pathlib import Path
from relentless.engine.engine import Engine
from relentless.store.embedded import start_embedded

async def main():
    engine = await Engine.connect(start_embedded(Path(sys.argv[1])))
    workflow = await engine.workflows.get(int(sys.argv[2]))
    print(workflow.key, workflow.status.value, workflow.node)
    await engine.close()

asyncio.run(main())
"""


def test_the_embedded_server_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    """Each process starts the server in the same directory and stops it when it exits."""
    data = tmp_path / "data"
    payment = Path(__file__).resolve().parents[2] / "examples" / "payment.yaml"

    def python(script: str, *arguments: str) -> str:
        result = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *arguments],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    workflow_id = python(STEP_ONE, str(data), str(payment))
    assert not (data / "postmaster.pid").exists(), "the server should stop with its process"
    assert python(STEP_TWO, str(data), workflow_id) == "kept running charge"
