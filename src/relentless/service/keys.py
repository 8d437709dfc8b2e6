"""Typed keys for what the application holds."""

from __future__ import annotations

from aiohttp import web

from relentless.config import Config
from relentless.engine.engine import Engine
from relentless.service.auth import Tokens
from relentless.service.metrics import NodeMetrics
from relentless.service.waker import Waker
from relentless.store.store import Store

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
ENGINE = web.AppKey("engine", Engine)
WAKER = web.AppKey("waker", Waker)
METRICS = web.AppKey("metrics", NodeMetrics)
TOKENS = web.AppKey("tokens", Tokens)
