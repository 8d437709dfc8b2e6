"""A worker for the example payment definition, with a believable mix of results.

Run it against a server with
``relentless worker relentless.examples.payment_worker:worker --url URL --token TOKEN``.

Every answer follows from the workflow's context and step, so a run can be repeated:
the cents of ``amount_cents`` pick what the card processor does.

- 00-07: the card is declined (the customer gets an email);
- 08-19: the processor errors once, and the retry after a wait succeeds;
- 20-25: the processor is down through the automatic retries, so the wait gives up
  and a person reviews the order (see ``review``): they retry (20-22), which then
  succeeds, or refund (23-25);
- 26-29: the processor is slow (``SLOW_SECONDS``), so a short lease needs heartbeats;
- anything else: charged at once.

Shipping, refunds and emails always succeed, after a short simulated delay.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

from relentless.worker import Job, Result, Worker

SLOW_SECONDS = 2.5
"""How long a slow charge takes: longer than a short lease, shorter than the node's timeout."""
AUTOMATIC_ROUNDS = 2
"""Charges tried before the wait step gives up and calls a person."""
FIRST_STEP = 1
"""The number of a workflow's first step."""
REVIEWER = "demo-reviewer"

worker = Worker(name="payment-worker", concurrency=32, batch=32)


def order(number: int, rng: random.Random) -> dict[str, Any]:
    """The context of an example order: its id, customer and amount."""
    return {"order_id": f"order-{number:05d}", "customer": f"customer-{rng.randrange(1000):03d}",
            "amount_cents": rng.randint(500, 50_000)}


def cents(context: Mapping[str, Any]) -> int:
    """The cents of the amount: they decide what the card processor does."""
    return int(context.get("amount_cents", 0)) % 100


def review(context: Mapping[str, Any], step: int) -> str:
    """What the person reviewing an escalated order decides: retry once, or refund."""
    first_review = step <= FIRST_STEP + 2 * AUTOMATIC_ROUNDS
    return "retry" if 20 <= cents(context) <= 22 and first_review else "refund"


def _round(job: Job) -> int:
    """Which charge of the automatic retry cycle (charge, wait, charge, ...) this step is
    or follows: 0 for the first."""
    return (job.step - FIRST_STEP) // 2


async def _work(job: Job, low_ms: int, high_ms: int) -> random.Random:
    """Simulate the call's latency; the generator is seeded by the order and step."""
    rng = random.Random(f"{job.context.get('order_id', job.workflow_id)}:{job.step}")
    await asyncio.sleep(rng.randint(low_ms, high_ms) / 1000)
    return rng


@worker.operation("charge_card")
async def charge_card(job: Job) -> Result:
    rng = await _work(job, 10, 60)
    kind = cents(job.context)
    if kind < 8:
        return Result("declined", {"reason": rng.choice(["insufficient_funds", "expired_card",
                                                         "do_not_honor"])})
    flaky = kind < 20 and _round(job) == 0
    down = 20 <= kind < 26 and _round(job) < AUTOMATIC_ROUNDS
    if flaky or down:
        return Result("error", {"processor": "unavailable"})
    if 26 <= kind < 30:
        await asyncio.sleep(SLOW_SECONDS)
    return Result("ok", {"charge_id": f"ch_{rng.getrandbits(48):012x}"})


@worker.operation("wait")
async def wait(job: Job) -> str:
    await _work(job, 50, 150)
    return "again" if _round(job) + 1 < AUTOMATIC_ROUNDS else "give_up"


@worker.operation("ship_order")
async def ship_order(job: Job) -> Result:
    rng = await _work(job, 10, 40)
    return Result("shipped", {"tracking": f"1Z{rng.getrandbits(40):010X}"})


@worker.operation("refund_card")
async def refund_card(job: Job) -> Result:
    rng = await _work(job, 10, 50)
    return Result("refunded", {"refund_id": f"re_{rng.getrandbits(48):012x}"})


@worker.operation("send_email")
async def send_email(job: Job) -> Result:
    await _work(job, 5, 20)
    return Result("sent", {"template": "payment_declined"})
