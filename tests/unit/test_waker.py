"""The waker wakes one waiter per operation named, never the herd; a delay wakes later."""

from __future__ import annotations

import asyncio

from relentless.service.waker import Waker
from relentless.store.listener import MAX_PAYLOAD, ready_payload


def _woken(waiters: list) -> list[int]:  # type: ignore[type-arg]
    return [index for index, waiter in enumerate(waiters) if waiter.woken.is_set()]


def test_a_notification_wakes_the_longest_waiter_of_each_operation_named() -> None:
    async def scenario() -> tuple[list[int], list[int], list[int], list[int]]:
        waker = Waker()
        charges = [waker.waiter(["charge"]) for _ in range(5)]
        ships = [waker.waiter(["ship", "charge"]) for _ in range(3)]
        waker.notified("ship")
        after_ship = _woken(ships)
        waker.notified("charge")
        after_charge = _woken(charges)
        waker.leave(charges[0])
        waker.notified("charge")
        again = _woken(charges)
        waker.notified("")
        return after_ship, after_charge, again, _woken(charges + ships)

    after_ship, after_charge, again, everyone = asyncio.run(scenario())
    assert after_ship == [0]
    assert after_charge == [0], "one waiter per notification, the longest waiting"
    assert again == [0, 1]
    assert everyone == list(range(8)), "an empty payload wakes everyone"


def test_a_retry_wakes_its_operation_when_its_backoff_ends() -> None:
    async def scenario() -> tuple[bool, bool]:
        waker = Waker()
        waiter = waker.waiter(["charge"])
        waker.notified("charge+50")
        early = waiter.woken.is_set()
        await asyncio.sleep(0.2)
        return early, waiter.woken.is_set()

    assert asyncio.run(scenario()) == (False, True)


def test_payloads_name_operations_once_and_give_up_when_too_long() -> None:
    assert ready_payload(["b", "a", "b"], [("c", 1500)]) == "a,b,c+1500"
    assert ready_payload([f"operation_{n}" for n in range(MAX_PAYLOAD)]) == ""
