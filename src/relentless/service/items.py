"""Batches judged item by item: one malformed item is refused alone, never the batch.

A batch body is read with each item left raw; each item is then decoded (and checked
for what PostgreSQL cannot store) on its own. The good ones go to the engine together,
and the answers are put back in the request's order, beside the refusals.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import msgspec

from relentless.vocabulary import Reason

Item = TypeVar("Item")
Result = TypeVar("Result")


class Refusal(msgspec.Struct, frozen=True):
    """Why one raw item was refused before the engine saw it."""

    raw: msgspec.Raw
    reason: Reason
    detail: str


def decode_each(raws: Sequence[msgspec.Raw], kind: type[Item], invalid: Reason,
                nul_fields: tuple[str, ...] = ()) -> list[Item | Refusal]:
    """Each raw item as ``kind``, or the Refusal that answers it on its own."""
    decoded: list[Item | Refusal] = []
    for raw in raws:
        try:
            item = msgspec.json.decode(raw, type=kind)
        except msgspec.DecodeError as exc:  # ValidationError included
            decoded.append(Refusal(raw, invalid, str(exc)))
            continue
        bad = next((name for name in nul_fields if holds_nul(getattr(item, name))), None)
        if bad is not None:
            decoded.append(Refusal(raw, _NUL_REASONS.get(bad, invalid),
                                   f"{bad}: text may not contain NUL characters"))
        else:
            decoded.append(item)
    return decoded


async def judge_each(decoded: list[Item | Refusal],
                     judge: Callable[[list[Item]], Awaitable[Sequence[Any]]],
                     answer: Callable[[Item, Any], Result],
                     refuse: Callable[[Refusal], Result]) -> list[Result]:
    """The engine's answers to the good items and the refusals, in the request's order."""
    good = [item for item in decoded if not isinstance(item, Refusal)]
    judged = iter(await judge(good) if good else ())
    return [refuse(item) if isinstance(item, Refusal) else answer(item, next(judged))
            for item in decoded]


def job_id_of(raw: msgspec.Raw) -> str:
    """The job id a malformed item names, if it names one, so its answer can say whose."""
    try:
        found = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return ""
    job_id = found.get("job_id") if isinstance(found, dict) else None
    return job_id if isinstance(job_id, str) else ""


def holds_nul(value: object) -> bool:
    """Whether any string in a JSON value (keys included) holds a NUL, which PostgreSQL
    cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


_NUL_REASONS = {"output": Reason.INVALID_OUTPUT}
"""A NUL in a completion's output has a reason of its own (the rest is the item's)."""
