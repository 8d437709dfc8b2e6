"""A real server on a fresh database, served from a thread of its own (the browser is
driven from the test's thread), and Debian's Chromium driven by Playwright.

Playwright's own browser download is not reachable from these machines: the tests
launch the system's Chromium (``apt-get install chromium``) by its path.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from relentless.service.app import create_app
from tests.service.conftest import ADMIN, ANA, VIEWER, WORKER, config_for

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs"

playwright_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Console:
    """The served app: its URL, and a way to call its JSON API from the test."""

    url: str
    loop: asyncio.AbstractEventLoop

    def call(self, method: str, path: str, token: str = ADMIN, **kwargs: Any) -> Any:
        """One JSON API call on the server's loop; the answer's JSON."""
        async def send() -> Any:
            async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as s, \
                    s.request(method, self.url + path, **kwargs) as response:
                assert response.status < 500, await response.text()
                return await response.json()

        return asyncio.run_coroutine_threadsafe(send(), self.loop).result(30)

    def worker(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, WORKER, **kwargs)


@pytest.fixture
def console(database_dsn: str) -> Iterator[Console]:
    loop = asyncio.new_event_loop()
    started: Future[str] = Future()
    stop = asyncio.Event()

    async def serve() -> None:
        runner = web.AppRunner(create_app(config_for(database_dsn)), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        started.set_result(f"http://127.0.0.1:{runner.addresses[0][1]}")
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    url = started.result(60)
    yield Console(url, loop)
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    loop.close()


@pytest.fixture
def browser(console: Console) -> Iterator[Any]:
    """One browser per test, started after the server and stopped before it: Playwright's
    sync API keeps an event loop running in this thread while it is up, and the database
    fixtures need the thread's loop free."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("no Chromium: apt-get install chromium")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Any, console: Console, token: str = ANA) -> None:
    page.goto(console.url + "/ui")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(console.url + "/ui")


__all__ = ["ADMIN", "ANA", "SCREENSHOTS", "VIEWER", "Console", "sign_in"]
