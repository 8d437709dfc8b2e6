"""The application factory, used alike by ``relentless serve`` and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from relentless import protocol
from relentless.config import Config
from relentless.engine.clock import DatabaseClock
from relentless.engine.engine import Engine
from relentless.engine.observations import ignore
from relentless.service.auth import Scope, Tokens, auth_middleware
from relentless.service.bodies import answer
from relentless.service.console import install as install_console
from relentless.service.errors import error_middleware, error_response
from relentless.service.keys import CONFIG, ENGINE, METRICS, STORE, TOKENS, WAKER
from relentless.service.metrics import NodeMetrics
from relentless.service.observability import install, metrics, request_metrics
from relentless.service.openapi import document
from relentless.service.routes import ROUTES
from relentless.service.waker import Waker
from relentless.store.store import Store

log = logging.getLogger(__name__)

OPENAPI = web.AppKey("openapi", dict)
TEMPORARY = web.AppKey("temporary", bool)
RETENTION_SECONDS = 60.0
"""How often the sweeper deletes finished workflows past retention_days."""
CLOCK_SYNC_SECONDS = 5.0
"""How often a node measures its clock against PostgreSQL's."""


def create_app(config: Config, *, temporary_database: bool = False) -> web.Application:
    """An application serving ``config.roles``; tokens must be set (see Config.with_tokens).

    With no DSN it runs the embedded PostgreSQL in ``config.data_dir``;
    ``temporary_database`` removes that server's data when the app stops (the demo's).
    """
    if not any(Scope.ADMIN in each.scopes for each in config.named_tokens):
        raise ValueError("create_app needs an admin token; use config.with_tokens()")
    tokens = Tokens(config.named_tokens)
    routes = tuple(route for route in ROUTES if route.role in config.roles)
    needs = {route.name: route.scope for route in routes if route.scope is not None}
    metered = config.metrics_enabled and "api" in config.roles
    if metered and not config.metrics_public:
        needs["metrics"] = Scope.METRICS
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[*([request_metrics] if config.metrics_enabled else []), error_middleware,
                     auth_middleware(tokens, needs)])
    app[CONFIG] = config
    app[METRICS] = NodeMetrics()
    install(app, app[METRICS])
    app[TEMPORARY] = temporary_database
    app[WAKER] = Waker()
    app[TOKENS] = tokens
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    app[OPENAPI] = document(routes)
    app.router.add_get("/openapi.json", openapi, name="openapi")
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/readyz", readyz, name="readyz")
    if "api" in config.roles:
        install_console(app)
    if metered:
        app.router.add_get("/metrics", metrics, name="metrics")
    app.cleanup_ctx.append(_store)
    if "sweeper" in config.roles:
        app.cleanup_ctx.append(_sweeper)
    return app


async def openapi(request: web.Request) -> web.Response:
    return answer(request.app[OPENAPI])


async def healthz(request: web.Request) -> web.Response:
    return answer(protocol.Health(status="ok", roles=list(request.app[CONFIG].roles)))


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ready()
    except Exception as exc:  # any failure to answer means "not ready", whatever its kind
        return error_response(503, "unavailable", f"the database does not answer: {exc}")
    status = "ready" if request.app[STORE].listener.listening else "degraded: no LISTEN"
    return answer(protocol.Health(status=status, roles=list(request.app[CONFIG].roles)))


async def _store(app: web.Application) -> AsyncIterator[None]:
    """The store and the engine on it, for the app's lifetime; the waker hears its
    NOTIFYs, and the engine keeps PostgreSQL's time (see DatabaseClock)."""
    config = app[CONFIG]
    store = await Store.open(config.dsn, data_dir=config.data_dir, pool_size=config.pool_size,
                             temporary=app[TEMPORARY])
    try:
        clock = DatabaseClock()
        await clock.synchronise(store.database_time)
    except BaseException:
        await store.close()
        raise
    store.listener.subscribe(app[WAKER].notified)
    app[STORE] = store
    app[ENGINE] = Engine(store.database, clock,
                         app[METRICS].observe if config.metrics_enabled else ignore)
    keeping_time = asyncio.create_task(_every(
        CLOCK_SYNC_SECONDS, lambda: clock.synchronise(store.database_time),
        "reading PostgreSQL's clock"))
    yield
    await _stopped(keeping_time)
    await store.close()


async def _sweeper(app: web.Application) -> AsyncIterator[None]:
    """The sweeper role: timers every tick, and retention (when set) every minute."""
    engine, config = app[ENGINE], app[CONFIG]
    tasks = [asyncio.create_task(_every(config.sweeper_interval_seconds, engine.sweeper.tick,
                                        "sweeper tick"))]
    if config.retention_days is not None:
        kept = timedelta(days=config.retention_days)
        tasks.append(asyncio.create_task(_every(
            RETENTION_SECONDS, lambda: engine.retention.prune(kept), "retention")))
    yield
    for task in tasks:
        await _stopped(task)


async def _every(interval: float, action: Callable[[], Awaitable[object]], what: str) -> None:
    """Run ``action``, sleep ``interval``, repeat; a failure is logged and tried again."""
    while True:
        try:
            await action()
        except Exception:
            log.exception("%s failed; trying again in %.1fs", what, interval)
        await asyncio.sleep(interval)  # intervals are validated positive


async def _stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
