"""One run of a worker: lease, perform, complete, heartbeat, and wind down cleanly.

Four loops share the jobs the worker holds: the leaser takes jobs while there is room,
each job's task runs its handler, the flusher sends completions and releases in
batches, and the heartbeater extends the leases of jobs held longer than a fraction of
their lease. A job stays held (and counted against ``concurrency``) until the server
has answered for it, so a slow or absent server slows leasing down instead of piling
answers up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from relentless import protocol
from relentless.protocol import MAX_BATCH
from relentless.vocabulary import Verdict
from relentless.worker.jobs import Handler, HandlerBug, Job, PermanentFailure, Result, settle
from relentless.worker.settings import WorkerSettings
from relentless.worker.stats import WorkerStats
from relentless.worker.transport import (
    Gateway,
    GatewayError,
    RequestRefused,
    Retry,
    Unavailable,
)

log = logging.getLogger("relentless.worker")

T = TypeVar("T")

FINAL_FLUSH_SECONDS = 5.0
"""At least this long to hand back completions and releases when stopping."""
FORCED_FLUSH_SECONDS = 2.0
"""How long a forced stop still tries to release what it holds."""
WATCH_SECONDS = 0.1
"""How often leases are looked at: due for a heartbeat, or lost."""
MAX_ERROR_CHARS = 10_000
"""The longest error text the protocol takes."""


class _Forced(Exception):
    """A second stop request: stop waiting now."""


@dataclass(eq=False, slots=True)
class _Held:
    """A job the worker holds, from its lease until the server answered for it."""

    job: Job
    renew_at: float
    expires_at: float
    """Event-loop time at which the granted lease runs out, as last granted."""
    task: asyncio.Task[None] | None = None
    finishing: bool = False
    lost: bool = False


class Run:
    """The machinery of one ``Worker.run``; ``stop`` and ``force`` may come at any time."""

    def __init__(self, settings: WorkerSettings, handlers: Mapping[str, Handler],
                 stats: WorkerStats) -> None:
        self._settings = settings
        self._handlers = dict(handlers)
        self._stats = stats
        self._held: dict[str, _Held] = {}
        self._completions: list[tuple[str, Result]] = []
        self._failures: list[protocol.Failure] = []
        self._releases: list[str] = []
        self._stopping = asyncio.Event()
        self._forced = asyncio.Event()
        self._wake = asyncio.Event()
        self._queued = asyncio.Event()
        self._full = asyncio.Event()
        self._closing = False
        self._gateway: Gateway | None = None

    @property
    def held(self) -> int:
        return len(self._held)

    def stop(self) -> None:
        """Stop leasing; finish (or, after the grace, release) what is held; return."""
        self._stopping.set()
        self._wake.set()

    def force(self) -> None:
        """Stop without waiting for running handlers: release everything now."""
        self.stop()
        self._forced.set()

    async def serve(self) -> None:
        settings = self._settings
        assert settings.url is not None and settings.token is not None
        retry = Retry(settings.retry_initial_seconds, settings.retry_max_seconds)
        async with Gateway(settings.url, settings.token, retry=retry,
                           timeout_seconds=settings.request_timeout_seconds,
                           stats=self._stats) as gateway:
            self._gateway = gateway
            flusher = asyncio.create_task(self._flush_forever(), name="relentless flusher")
            heart = asyncio.create_task(self._heartbeat_forever(), name="relentless heartbeat")
            try:
                await self._lease_until_stopped()
            finally:
                self.stop()
                await self._wind_down(flusher, heart)

    # -- leasing ----------------------------------------------------------------------

    async def _lease_until_stopped(self) -> None:
        settings = self._settings
        while not self._stopping.is_set():
            room = settings.concurrency - len(self._held)
            if room <= 0:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self._unless_forced(self._lease(min(settings.batch, room)))
            except (Unavailable, _Forced):
                return

    async def _lease(self, count: int) -> list[Job]:
        """Up to ``count`` jobs. A stop never cuts the poll in flight short: a server
        that keeps serving a dropped request (aiohttp's default) would lease jobs to a
        caller no longer listening, and each would cost an attempt when it expired."""
        settings = self._settings
        assert self._gateway is not None
        request = protocol.LeaseRequest(
            worker=settings.name, operations=sorted(self._handlers), max_jobs=count,
            lease_seconds=settings.lease_seconds, wait_seconds=settings.wait_seconds)
        answer = await self._gateway.post("/v1/jobs/lease", request, protocol.LeaseResponse,
                                          extra_seconds=settings.wait_seconds,
                                          give_up=self._stopping)
        self._take(answer.jobs, answer.now)
        return answer.jobs

    def _take(self, jobs: list[Job], server_now: datetime | None) -> None:
        for job in jobs:
            self._stats.leased += 1
            granted = self._granted_seconds(job.lease_expires_at, server_now)
            now = _now()
            held = _Held(job, now + granted * self._settings.heartbeat_fraction, now + granted)
            self._held[job.job_id] = held
            if job.operation not in self._handlers:
                log.error("job %s: no handler for operation %r; releasing it",
                          job.job_id, job.operation)
                self._queue_release(held)
            elif self._stopping.is_set():
                self._queue_release(held)
            else:
                held.task = asyncio.create_task(self._perform(held), name=f"job {job.job_id}")

    # -- performing -------------------------------------------------------------------

    async def _perform(self, held: _Held) -> None:
        """Run the job's handler and queue its answer; a failure releases the job."""
        job = held.job
        try:
            result = settle(job, await self._handlers[job.operation](job))
        except asyncio.CancelledError:
            if held.lost:
                self._forget(job.job_id)
            else:
                self._queue_release(held)
            raise
        except HandlerBug as bug:
            self._stats.handler_bugs += 1
            log.error("job %s (%s at node %s): handler bug: %s; failing the attempt",
                      job.job_id, job.operation, job.node, bug)
            self._queue_failure(held, bug, retryable=False)
        except Exception as exc:
            self._stats.handler_errors += 1
            log.exception("job %s (%s at node %s): the handler failed; failing the attempt",
                          job.job_id, job.operation, job.node)
            self._queue_failure(held, exc, retryable=not isinstance(exc, PermanentFailure))
        else:
            held.finishing = True
            self._completions.append((job.job_id, result))
            self._queued_one(len(self._completions))

    def _queue_failure(self, held: _Held, error: BaseException, *, retryable: bool,
                       detail: str | None = None) -> None:
        """Fail the attempt with the error's type and message; the server retries the
        step after its backoff, or gives it up."""
        held.finishing = True
        kind = type(error)
        text = detail or (f"{kind.__name__}: {error}" if str(error) else kind.__name__)
        self._failures.append(protocol.Failure(
            job_id=held.job.job_id, error=text.replace("\x00", "")[:MAX_ERROR_CHARS],
            retryable=retryable, details={"type": f"{kind.__module__}.{kind.__qualname__}"}))
        self._queued_one(len(self._failures))

    def _queue_release(self, held: _Held) -> None:
        held.finishing = True
        self._releases.append(held.job.job_id)
        self._queued_one(len(self._releases))

    def _queued_one(self, waiting: int) -> None:
        self._queued.set()
        if waiting >= self._settings.batch:
            self._full.set()

    def _forget(self, job_id: str) -> None:
        if self._held.pop(job_id, None) is not None:
            self._wake.set()

    # -- flushing ---------------------------------------------------------------------

    async def _flush_forever(self) -> None:
        """Send what is queued once a batch is full or ``flush_seconds`` passed."""
        while True:
            await self._queued.wait()
            if not self._closing and not self._full.is_set():
                await _sleep_unless(self._full, self._settings.flush_seconds)
            self._queued.clear()
            self._full.clear()
            try:
                await self._flush_once()
            except Exception:
                log.exception("flushing completions failed; trying again")
                await asyncio.sleep(self._settings.retry_initial_seconds)
            if self._completions or self._failures or self._releases:
                self._queued.set()
                waiting = max(len(self._completions), len(self._failures), len(self._releases))
                if waiting >= self._settings.batch:
                    self._full.set()
            elif self._closing:
                return

    async def _flush_once(self) -> None:
        batch = self._settings.batch
        completions, self._completions = self._completions[:batch], self._completions[batch:]
        failures, self._failures = self._failures[:batch], self._failures[batch:]
        releases, self._releases = self._releases[:batch], self._releases[batch:]
        if completions:
            await self._complete(completions)
        if failures:
            await self._fail(failures)
        if releases:
            await self._release(releases)

    async def _complete(self, completions: list[tuple[str, Result]]) -> None:
        """Send a batch; one the server refuses whole (too large, say) is split and sent
        again in halves, down to single completions, and one refused alone fails its
        attempt with the server's reason, so that no good completion is lost with it."""
        assert self._gateway is not None
        body = protocol.CompleteRequest(completions=[
            protocol.Completion(job_id=job_id, label=result.label, output=result.output)
            for job_id, result in completions])
        try:
            answer = await self._gateway.post("/v1/jobs/complete", body,
                                              protocol.CompleteResponse)
        except RequestRefused as exc:
            await self._after_refusal(completions, exc)
        except BaseException:
            for job_id, _ in completions:
                self._forget(job_id)
            raise
        else:
            for item in answer.results:
                self._count_completion(item)
            for job_id, _ in completions:
                self._forget(job_id)

    async def _after_refusal(self, completions: list[tuple[str, Result]],
                             refused: RequestRefused) -> None:
        if len(completions) > 1:
            middle = len(completions) // 2
            await self._complete(completions[:middle])
            await self._complete(completions[middle:])
            return
        [(job_id, _)] = completions
        held = self._held.get(job_id)
        log.error("job %s: completion refused (%s); failing the attempt", job_id, refused)
        if held is None:
            return
        self._queue_failure(held, refused, retryable=True,
                            detail=f"the completion was refused: {refused}")

    async def _fail(self, failures: list[protocol.Failure]) -> None:
        assert self._gateway is not None
        body = protocol.FailRequest(worker=self._settings.name, failures=failures)
        try:
            answer = await self._gateway.post("/v1/jobs/fail", body, protocol.FailResponse)
            self._stats.failed += sum(1 for item in answer.results
                                      if item.verdict is Verdict.ACCEPTED)
        except RequestRefused as exc:
            if len(failures) > 1:  # refused whole (a smaller batch limit, say): split
                middle = len(failures) // 2
                await self._fail(failures[:middle])
                await self._fail(failures[middle:])
                return
            log.error("job %s: failure refused (%s); its job is offered again when its "
                      "lease expires", failures[0].job_id, exc)
        except BaseException:
            for failure in failures:
                self._forget(failure.job_id)
            raise
        for failure in failures:
            self._forget(failure.job_id)

    def _count_completion(self, item: protocol.CompletionResult) -> None:
        if item.verdict is Verdict.ACCEPTED:
            self._stats.accepted += 1
        elif item.verdict is Verdict.STALE:
            self._stats.stale += 1
            log.info("job %s: completion stale (the step was decided or its lease "
                     "expired)", item.job_id)
        else:
            self._stats.rejected += 1
            log.error("job %s: completion rejected: %s%s", item.job_id, item.reason,
                      f" ({item.detail})" if item.detail else "")

    async def _release(self, job_ids: list[str]) -> None:
        assert self._gateway is not None
        body = protocol.ReleaseRequest(worker=self._settings.name, job_ids=job_ids)
        try:
            await self._gateway.post("/v1/jobs/release", body, protocol.ReleaseResponse)
            self._stats.released += len(job_ids)
        except RequestRefused as exc:
            log.error("releasing %d jobs refused (%s); they are offered again when their "
                      "leases expire", len(job_ids), exc)
        finally:
            for job_id in job_ids:
                self._forget(job_id)

    # -- heartbeats -------------------------------------------------------------------

    async def _heartbeat_forever(self) -> None:
        """Extend each lease once ``heartbeat_fraction`` of what was granted has passed,
        and stop the handler of a lease that ran out without being extended (the server
        grants no lease past the node's attempt timeout)."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            now = _now()
            for held in [h for h in self._held.values() if not h.lost and h.expires_at <= now]:
                if held.finishing:  # its answer is queued: nothing left to keep alive
                    held.renew_at = float("inf")
                else:
                    self._lose(held)
            due = [held for held in self._held.values()
                   if not held.lost and held.renew_at <= now]
            for start in range(0, len(due), MAX_BATCH):
                try:
                    await self._heartbeat(due[start:start + MAX_BATCH])
                except GatewayError as exc:
                    log.warning("heartbeat failed: %s", exc)
                except Exception:
                    log.exception("heartbeat failed")

    async def _heartbeat(self, due: list[_Held]) -> None:
        settings = self._settings
        assert self._gateway is not None
        request = protocol.HeartbeatRequest(
            worker=settings.name, job_ids=[held.job.job_id for held in due],
            lease_seconds=settings.lease_seconds)
        first_expiry = min(held.expires_at for held in due)
        answer = await self._gateway.post("/v1/jobs/heartbeat", request,
                                          protocol.HeartbeatResponse, deadline=first_expiry)
        for item in answer.results:
            held = self._held.get(item.job_id)
            if held is None:
                continue
            if item.extended and item.lease_expires_at is not None:
                granted = self._granted_seconds(item.lease_expires_at, answer.now)
                now = _now()
                held.expires_at = now + granted
                if granted > WATCH_SECONDS:
                    self._stats.leases_extended += 1
                    held.renew_at = now + granted * settings.heartbeat_fraction
                else:  # at the attempt's timeout: nothing left to extend
                    held.renew_at = held.expires_at
            elif held.finishing:
                held.renew_at = float("inf")  # lost, but its answer is on its way
            else:
                self._lose(held)

    def _granted_seconds(self, lease_expires_at: datetime, server_now: datetime | None) -> float:
        """How long a lease the server granted still runs: by the cluster's clock when the
        server says what time it is (so this machine's clock does not matter), never more
        than asked for."""
        left = (lease_expires_at - (server_now or datetime.now(UTC))).total_seconds()
        return max(0.0, min(left, self._settings.lease_seconds))

    def _lose(self, held: _Held) -> None:
        """The lease is gone (expired, or the attempt timed out): the handler's answer
        would be stale, so stop it; the engine offers the step again."""
        held.lost = True
        self._stats.leases_lost += 1
        log.warning("job %s: lease lost (expired or timed out); cancelling its handler",
                    held.job.job_id)
        if held.task is not None:
            held.task.cancel()
        else:
            self._forget(held.job.job_id)

    # -- stopping ---------------------------------------------------------------------

    async def _wind_down(self, flusher: asyncio.Task[None], heart: asyncio.Task[None]) -> None:
        """Let running handlers finish within the grace, release the rest, hand back all."""
        running = [held.task for held in self._held.values()
                   if held.task is not None and not held.task.done()]
        if running:
            log.info("stopping: waiting up to %gs for %d running jobs (stop again to release "
                     "them now)", self._settings.grace_seconds, len(running))
            with contextlib.suppress(_Forced):
                await self._unless_forced(asyncio.wait(running,
                                                       timeout=self._settings.grace_seconds))
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        for held in list(self._held.values()):
            if held.lost:
                self._forget(held.job.job_id)
            elif not held.finishing:  # cancelled before it ever ran
                self._queue_release(held)
        self._closing = True
        self._queued.set()
        try:
            await self._hand_back(flusher)
        finally:
            for task in (flusher, heart):
                task.cancel()
            await asyncio.gather(flusher, heart, return_exceptions=True)

    async def _hand_back(self, flusher: asyncio.Task[None]) -> None:
        """Let the flusher send what is left: a while, or briefly once forced."""
        if not self._forced.is_set():
            with contextlib.suppress(_Forced, TimeoutError):
                await self._unless_forced(asyncio.wait_for(asyncio.shield(flusher), max(
                    FINAL_FLUSH_SECONDS, self._settings.grace_seconds)))
        if not flusher.done() and self._forced.is_set():
            await asyncio.wait({flusher}, timeout=FORCED_FLUSH_SECONDS)
        if not flusher.done():
            log.warning("stopped with %d jobs not handed back; the server offers them again "
                        "when their leases expire", len(self._held))

    async def _unless_forced(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``'s result, or _Forced (and it is cancelled) once force() is called."""
        task = asyncio.ensure_future(awaitable)
        forced = asyncio.ensure_future(self._forced.wait())
        try:
            done, _ = await asyncio.wait({task, forced}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            raise
        finally:
            forced.cancel()
        if task in done:
            return task.result()
        task.cancel()
        raise _Forced


def _now() -> float:
    return asyncio.get_running_loop().time()


async def _sleep_unless(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
