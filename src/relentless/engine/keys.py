"""Idempotency keys: scoped per definition name, and bound to the input first sent.

A start whose key already created a workflow of that definition is answered with it
(``created`` false), whatever version it names, even one that does not resolve; a
repeat whose input differs from the first one's is refused as ``key_conflict``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

import asyncpg

from relentless.engine.values import JSONObject, Started, StartRequest
from relentless.vocabulary import Reason, Verdict

KeyedRows = dict[tuple[str, str], asyncpg.Record]
"""Workflows created with a key, by (definition name, key)."""


def input_fingerprint(context: JSONObject | None) -> str:
    """One digest per input: equal JSON objects (whatever their key order) agree."""
    text = json.dumps(context or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def lookup(requests: Iterable[StartRequest]) -> dict[str, list[str]]:
    """The parameters of WORKFLOWS_BY_KEY for the keyed ones of ``requests``."""
    pairs = sorted({(r.definition, r.key) for r in requests if r.key is not None})
    return {"scopes": [scope for scope, _ in pairs], "keys": [key for _, key in pairs]}


def by_scope(rows: Iterable[asyncpg.Record]) -> KeyedRows:
    return {(row["idempotency_scope"], row["idempotency_key"]): row for row in rows}


def repeat(request: StartRequest, rows: KeyedRows) -> Started | None:
    """The answer to a start whose key was used before for its definition, if it was."""
    row = rows.get((request.definition, request.key)) if request.key is not None else None
    if row is None:
        return None
    stored = row["input_fingerprint"]  # None: keyed before inputs were kept
    if stored is not None and stored != input_fingerprint(request.context):
        return Started(verdict=Verdict.REJECTED, reason=Reason.KEY_CONFLICT)
    return Started(verdict=Verdict.ACCEPTED, workflow_id=row["id"], version=row["version"],
                   created=False)


def answer_repeats(requests: Sequence[StartRequest], answers: list[Started | None],
                   rows: KeyedRows) -> None:
    """Fill in the answer of every unanswered request whose key ``rows`` know."""
    for index, request in enumerate(requests):
        if answers[index] is None:
            answers[index] = repeat(request, rows)
