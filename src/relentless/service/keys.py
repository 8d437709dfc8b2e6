"""Typed keys for what the application holds."""

from __future__ import annotations

from aiohttp import web

from relentless.engine.engine import Engine
from relentless.service.config import Config
from relentless.service.waker import Waker

CONFIG = web.AppKey("config", Config)
ENGINE = web.AppKey("engine", Engine)
WAKER = web.AppKey("waker", Waker)
