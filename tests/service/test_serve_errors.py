"""``relentless serve`` reports what stops it in one line and a non-zero exit code."""

from __future__ import annotations

import socket
import subprocess
import sys

from relentless.exit_codes import ExitCode


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_an_unreachable_database_is_one_clear_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "relentless.cli", "serve", "--dsn",
         "postgresql://127.0.0.1:1/nothing", "--listen", f"127.0.0.1:{_free_port()}"],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == ExitCode.UNAVAILABLE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("relentless serve: cannot connect to PostgreSQL")
