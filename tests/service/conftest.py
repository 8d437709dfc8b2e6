"""A real Relentless server on a fresh database, served on a local port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from relentless.config import Config
from relentless.service.app import create_app
from relentless.tokens import NamedToken, Scope

ADMIN = "admin-token-for-tests"
WORKER = "worker-token-for-tests"
VIEWER = "viewer-token-for-tests"
ANA = "ana-admin-token-for-tests"
TOKENS = (NamedToken("viewer", VIEWER, frozenset({Scope.VIEWER})),
          NamedToken("ana", ANA, frozenset({Scope.ADMIN})))
"""Besides admin_token ("admin") and worker_token ("worker"): a viewer, and a second
person with the admin scope."""


@dataclass
class Server:
    """Where the server listens, and a client session with each token."""

    url: str
    admin: aiohttp.ClientSession
    worker: aiohttp.ClientSession
    anonymous: aiohttp.ClientSession
    app: Any
    viewer: aiohttp.ClientSession
    ana: aiohttp.ClientSession


def config_for(dsn: str, **settings: Any) -> Config:
    return Config(dsn=dsn, admin_token=ADMIN, worker_token=WORKER,
                  sweeper_interval_seconds=0.2, **{"tokens": TOKENS, **settings})


@pytest.fixture
def server(database_dsn: str, run: Any) -> Iterator[Server]:
    test_server = TestServer(create_app(config_for(database_dsn)), host="127.0.0.1")

    async def start() -> Server:
        await test_server.start_server()
        url = str(test_server.make_url("")).rstrip("/")

        def session(token: str | None) -> aiohttp.ClientSession:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return aiohttp.ClientSession(base_url=url, headers=headers)

        return Server(url, session(ADMIN), session(WORKER), session(None), test_server.app,
                      session(VIEWER), session(ANA))

    started: Server = run(start())
    yield started

    async def stop() -> None:
        for client in (started.admin, started.worker, started.anonymous, started.viewer,
                       started.ana):
            await client.close()
        await test_server.close()

    run(stop())
