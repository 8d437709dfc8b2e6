"""A real PostgreSQL for the tests: the embedded server, one fresh database per test.

A pytest plugin (see tests/conftest.py): the server starts only for tests that ask.

Set RELENTLESS_TEST_DSN to run against another server instead (PostgreSQL 14+; the
tests create and drop databases on it).
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from relentless.engine.clock import ManualClock
from relentless.engine.engine import Engine
from relentless.store.embedded import start_embedded
from relentless.store.migrations import migrate

T = TypeVar("T")
TEMPLATE = "relentless_test_template"
_numbers = itertools.count()

Run = Callable[[Awaitable[T]], T]


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database of the same server."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def runner() -> Iterator[asyncio.Runner]:
    """One event loop for the whole session, so pools outlive a single test."""
    with asyncio.Runner() as session_runner:
        yield session_runner


@pytest.fixture(scope="session")
def run(runner: asyncio.Runner) -> Callable[[Awaitable[Any]], Any]:
    """Run a coroutine to completion on the session's loop (the sync bridge)."""
    return runner.run


@pytest.fixture(scope="session")
def server_dsn(run: Run[Any]) -> str:
    """The server's DSN, with a migrated template database to copy for each test.

    The data lives in a directory of its own, not under pytest's temporary tree:
    pytest deletes old session directories when another session starts, which
    would pull the data out from under a running server.
    """
    dsn = os.environ.get("RELENTLESS_TEST_DSN")
    if dsn is None:
        home = Path(tempfile.mkdtemp(prefix="relentless-test-postgres-"))
        # Registered first so it runs last, after the server stopped and removed its data.
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        dsn = start_embedded(home / "data", delete_on_exit=True)

    async def prepare() -> None:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
            await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
        finally:
            await admin.close()
        template = await asyncpg.connect(with_database(dsn, TEMPLATE))
        try:
            await migrate(template)
        finally:
            await template.close()

    run(prepare())
    return dsn


@pytest.fixture
def database_dsn(server_dsn: str, run: Run[Any]) -> Iterator[str]:
    """A fresh, migrated database of its own for one test, dropped afterwards."""
    name = f"relentless_test_{os.getpid()}_{next(_numbers)}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(server_dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    run(admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    yield with_database(server_dsn, name)
    run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(database_dsn: str, clock: ManualClock, run: Run[Any]) -> Iterator[Engine]:
    """An engine on a fresh database, its time in the test's hand."""
    connected: Engine = run(Engine.connect(database_dsn, clock, min_size=1, max_size=4))
    yield connected
    run(connected.close())
