"""Named SQL statements, kept in ``sql/queries.sql`` and looked up by name.

Each statement starts with a line ``-- name: <name>``; comments above it say why it is
written as it is. Statements are parameterised (``$1``...) and never built from strings.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def _statements() -> dict[str, str]:
    text = files("relentless.store").joinpath("sql", "queries.sql").read_text(encoding="utf-8")
    parts = _NAME.split(text)
    statements = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in statements:
            raise ValueError(f"query {name!r} is defined twice in queries.sql")
        statements[name] = body.strip()
    return statements


def query(name: str) -> str:
    """The SQL of the statement called ``name``."""
    try:
        return _statements()[name]
    except KeyError:
        raise KeyError(f"no query named {name!r} in queries.sql") from None

