"""The connection pool, and the one place where database errors become ours."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from relentless.errors import InvalidData, StoreUnavailable
from relentless.store.migrations import migrate
from relentless.store.statements import Connection, Statement

__all__ = ["Connection", "Database"]

# Failures that mean "PostgreSQL is not there now, or asks to try again": a deadlock
# or serialisation failure rolled the whole transaction back, so a retry is safe.
_UNAVAILABLE = (OSError, asyncpg.PostgresConnectionError,
                asyncpg.exceptions.OperatorInterventionError,
                asyncpg.exceptions.TransactionRollbackError)

TRANSIENT_ERRORS = (*_UNAVAILABLE, asyncpg.exceptions.QueryCanceledError,
                    asyncpg.exceptions.LockNotAvailableError)
"""Failures that say nothing about the data: trying the same writes again may work."""


async def _keep_session(connection: Connection) -> None:
    """Skip asyncpg's reset query on release (a round trip per transaction).

    asyncpg still rolls back an open transaction itself; Relentless takes only
    transaction-scoped locks and listens on a connection of its own, so there is no
    session state to reset.
    """


async def _prepare_connection(connection: Connection) -> None:
    """JSON in and out as Python objects, for every connection of the pool."""
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads,
                                        schema="pg_catalog")


class Database:
    """A pool of connections to one PostgreSQL database with the Relentless schema."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 2, max_size: int = 10,
                      run_migrations: bool = True) -> Database:
        """Open a pool to ``dsn`` and bring the schema up to date."""
        try:
            pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                             init=_prepare_connection, reset=_keep_session)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        database = cls(pool)
        if run_migrations:
            try:
                async with pool.acquire() as connection:
                    await migrate(connection)
            except BaseException as exc:
                await pool.close()
                if isinstance(exc, _UNAVAILABLE):
                    raise StoreUnavailable(f"cannot migrate the schema: {exc}") from exc
                raise
        return database

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside a transaction: committed on exit, rolled back on error."""
        try:
            async with self.pool.acquire() as connection, connection.transaction():
                yield connection
        except asyncpg.InterfaceError as exc:
            # Ending a transaction whose connection died mid-way: the server went away
            # (or killed the session), which is not a bug of ours.
            if isinstance(exc.__context__, _UNAVAILABLE):
                raise StoreUnavailable(f"the connection to PostgreSQL died: {exc}") from exc
            raise
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"PostgreSQL did not complete the transaction: {exc}") from exc
        except asyncpg.DataError as exc:
            raise InvalidData(f"PostgreSQL refused a value: {exc}") from exc

    async def fetch(self, statement: Statement, rows: Sequence[Any] = (), /,
                    **values: Any) -> list[asyncpg.Record]:
        """Rows of ``statement``, outside any explicit transaction."""
        try:
            found: list[asyncpg.Record] = await statement.fetch(self.pool, rows, **values)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"PostgreSQL did not answer: {exc}") from exc
        except asyncpg.DataError as exc:
            raise InvalidData(f"PostgreSQL refused a value: {exc}") from exc
        return found
