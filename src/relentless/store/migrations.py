"""Versioned schema migrations, applied at start-up.

Migrations are the files ``sql/migrations/NNNN_*.sql``, applied in order in one
transaction (PostgreSQL's DDL is transactional: all or nothing). An advisory lock
makes concurrent start-ups safe: one process migrates, the others wait and then
find nothing left to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# An arbitrary, fixed key: every Relentless process contends on the same advisory lock.
MIGRATION_LOCK = 7_265_281_377

_FILE = re.compile(r"^(\d{4})_([\w-]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with this version of Relentless, oldest first."""
    folder = files("relentless.store").joinpath("sql", "migrations")
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    return found


async def migrate(connection: asyncpg.Connection | PoolConnectionProxy) -> list[int]:
    """Apply the migrations this database lacks; returns the versions applied."""
    applied_now = []
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS relentless_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in
                await connection.fetch("SELECT version FROM relentless_migrations")}
        for migration in available():
            if migration.version in done:
                continue
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO relentless_migrations (version, name) VALUES ($1, $2)",
                migration.version, migration.name)
            applied_now.append(migration.version)
    return applied_now
