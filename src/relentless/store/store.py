"""The store: the one owner of every connection to PostgreSQL.

Opened once from the configuration, it starts (or joins) the embedded server when no
DSN is given, opens the pool and brings the schema up to date, and keeps the LISTEN
connection; closing it lets go of all of them in reverse order. Nothing else in
Relentless opens a connection or reads a DSN.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from relentless.errors import StoreUnavailable
from relentless.store.database import Database
from relentless.store.embedded import EmbeddedServer
from relentless.store.listener import Listener
from relentless.store.statements import DATABASE_TIME, PING


class Store:
    """The pool (``database``), the LISTEN connection (``listener``) and, with no DSN,
    the embedded server; use ``await Store.open(...)`` and ``await store.close()``."""

    def __init__(self, database: Database, listener: Listener,
                 embedded: EmbeddedServer | None) -> None:
        self.database = database
        self.listener = listener
        self.embedded = embedded

    @classmethod
    async def open(cls, dsn: str | None = None, *, data_dir: Path | None = None,
                   pool_size: int = 10, min_pool_size: int = 2, listen: bool = True,
                   temporary: bool = False) -> Store:
        """Connect to ``dsn``, or to the embedded server in ``data_dir`` when it is None.

        ``temporary`` removes an embedded server's data when the last user lets go.
        ``listen`` opens the LISTEN connection too (long-polls need it; tools do not).
        Raises StoreUnavailable, having closed whatever it had opened.
        """
        embedded = None
        if dsn is None:
            embedded = await asyncio.to_thread(EmbeddedServer.start, data_dir,
                                               delete_on_exit=temporary)
            dsn = embedded.dsn
        try:
            database = await Database.connect(dsn, min_size=min(min_pool_size, pool_size),
                                              max_size=pool_size)
        except BaseException:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            raise
        listener = Listener()
        if listen:
            await listener.start(dsn)
        return cls(database, listener, embedded)

    async def database_time(self) -> datetime:
        """PostgreSQL's clock now (the one clock of a cluster)."""
        [row] = await self.database.fetch(DATABASE_TIME)
        now: datetime = row["now"]
        return now

    async def ready(self) -> None:
        """Return if PostgreSQL answers now; StoreUnavailable saying why if not."""
        await self.database.fetch(PING)

    async def close(self) -> None:
        try:
            await self.listener.stop()
            await self.database.close()
        finally:
            if self.embedded is not None:
                await asyncio.to_thread(self.embedded.stop)


__all__ = ["Store", "StoreUnavailable"]
