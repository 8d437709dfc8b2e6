"""Published definitions: versioned in PostgreSQL, compiled and packed in memory.

Any node may have published a definition; a node compiles a version the first time
it meets it and keeps it, since a version never changes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg

from relentless.core.compiler import CompiledDefinition, compile_definition
from relentless.core.definition import definition_from_canonical
from relentless.core.reader import parse_definition
from relentless.core.registry import PackedTables, Registry
from relentless.core.source import Format
from relentless.engine.values import Published
from relentless.store import statements as sql
from relentless.store.database import Database
from relentless.store.statements import Connection, Statement


@dataclass(frozen=True, slots=True)
class LoadedDefinition:
    """One stored definition version, compiled, with its id in the kernel's tables."""

    id: int
    name: str
    version: int
    source: str
    source_format: str
    compiled: CompiledDefinition
    kernel_id: int


class Catalog:
    """Definition versions by database id, loaded on first use and packed for the kernel."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._registry = Registry()
        self._loaded: dict[int, LoadedDefinition] = {}

    @property
    def tables(self) -> PackedTables:
        return self._registry.tables

    async def publish(self, text: str, fmt: Format = "yaml") -> Published:
        """Store a new version, or return the latest version if it has this content already
        (an older version's content published again becomes a new latest version).

        Raises DefinitionInvalid (and stores nothing) if the text is not valid.
        """
        # Parsing a large document takes a while: keep the event loop serving meanwhile.
        definition = await asyncio.to_thread(parse_definition, text, fmt)
        name, fingerprint = definition.name, definition.fingerprint
        async with self._database.transaction() as connection:
            await sql.LOCK_DEFINITION_NAME.execute(connection, name=name)
            row = await sql.LATEST_DEFINITION_WITH_FINGERPRINT.fetchrow(
                connection, name=name, fingerprint=fingerprint)
            created = row is None
            if row is None:
                row = await sql.INSERT_DEFINITION.fetchrow(
                    connection, name=name, fingerprint=fingerprint, source=text,
                    source_format=fmt, canonical=definition.canonical())
        assert row is not None, "INSERT ... RETURNING returns the row it inserted"
        return Published(name=name, version=row["version"], fingerprint=fingerprint,
                         created=created)

    async def by_id(self, definition_id: int, connection: Connection | None = None
                    ) -> LoadedDefinition:
        """The version stored under ``definition_id`` (which must exist)."""
        loaded = self._loaded.get(definition_id)
        if loaded is None:
            row = await self._fetchrow(connection, sql.DEFINITION_BY_ID, id=definition_id)
            if row is None:
                raise LookupError(f"no definition with id {definition_id}")
            loaded = self._load(row)
        return loaded

    async def resolve(self, name: str, version: int | None = None) -> LoadedDefinition | None:
        """The given version of ``name`` (its latest when None), if it exists."""
        if version is None:
            row = await self._fetchrow(None, sql.LATEST_DEFINITION, name=name)
        else:
            row = await self._fetchrow(None, sql.DEFINITION_BY_VERSION, name=name,
                                       version=version)
        if row is None:
            return None
        return self._loaded.get(row["id"]) or self._load(row)

    async def names(self) -> list[tuple[str, int, int]]:
        """Every definition name with its latest version and number of versions."""
        rows = await self._database.fetch(sql.DEFINITION_NAMES)
        return [(row["name"], row["latest"], row["versions"]) for row in rows]

    async def versions(self, name: str) -> list[asyncpg.Record]:
        """The versions of ``name``, oldest first (empty if there is no such name)."""
        return await self._database.fetch(sql.DEFINITION_VERSIONS, name=name)

    async def active_per_version(self, name: str) -> dict[int, int]:
        """How many running and incident workflows are on each version of ``name``."""
        rows = await self._database.fetch(sql.WORKFLOWS_PER_VERSION, name=name)
        return {row["version"]: row["active"] for row in rows}

    async def _fetchrow(self, connection: Connection | None, statement: Statement,
                        **values: Any) -> asyncpg.Record | None:
        if connection is not None:
            return await statement.fetchrow(connection, **values)
        rows = await self._database.fetch(statement, **values)
        return rows[0] if rows else None

    def _load(self, row: asyncpg.Record) -> LoadedDefinition:
        if row["canonical"] is not None:
            definition = definition_from_canonical(row["canonical"])
        else:  # stored before canonical forms were kept
            definition = parse_definition(row["source"], row["source_format"])
        compiled = compile_definition(definition)
        loaded = LoadedDefinition(row["id"], row["name"], row["version"], row["source"],
                                  row["source_format"], compiled, self._registry.add(compiled))
        self._loaded[loaded.id] = loaded
        return loaded
