"""Configuration: a TOML file, then environment variables, then flags (last wins)."""

from __future__ import annotations

import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from relentless.errors import UserError
from relentless.protocol import MAX_BATCH
from relentless.tokens import NamedToken, Scope, TokenProblem, check_distinct, token_from

ROLES = ("gateway", "api", "sweeper")
DEFAULT_LISTEN = "127.0.0.1:8080"

ENVIRONMENT = {
    "RELENTLESS_DSN": "dsn",
    "RELENTLESS_DATA_DIR": "data_dir",
    "RELENTLESS_LISTEN": "listen",
    "RELENTLESS_ADMIN_TOKEN": "admin_token",
    "RELENTLESS_WORKER_TOKEN": "worker_token",
    "RELENTLESS_ROLES": "roles",
}


class ConfigError(UserError):
    """The configuration is wrong; the message names the setting and its source."""


@dataclass(frozen=True, slots=True)
class Config:
    dsn: str | None = None
    data_dir: Path | None = None
    listen: str = DEFAULT_LISTEN
    admin_token: str | None = None
    worker_token: str | None = None
    roles: tuple[str, ...] = ROLES
    max_body_bytes: int = 4 * 1024 * 1024
    max_batch: int = 1_000
    sweeper_interval_seconds: float = 1.0
    pool_size: int = 10
    retention_days: float | None = None
    """Delete finished workflows this long after they ended (the sweeper does, in
    batches); None keeps everything."""
    metrics_enabled: bool = True
    """Count and serve metrics; off, the engine tells nobody and /metrics is absent."""
    metrics_public: bool = False
    """Serve /metrics without a token (inside a trusted network), else only to tokens with
    the metrics scope (admin tokens have it)."""
    metrics_cache_seconds: float = 5.0
    """How long the gauges read from PostgreSQL are reused between scrapes."""
    sla_at_risk_share: float = 0.8
    """A running workflow past this share of its SLA is 'at risk'."""
    tokens: tuple[NamedToken, ...] = ()
    """Named tokens with scopes (``[[tokens]]`` in the file), besides admin_token and
    worker_token, which are named "admin" and "worker"."""

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0] or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def named_tokens(self) -> tuple[NamedToken, ...]:
        """Every token the server accepts, each with its name and scopes."""
        legacy = [NamedToken("admin", self.admin_token, frozenset({Scope.ADMIN}))
                  if self.admin_token else None,
                  NamedToken("worker", self.worker_token, frozenset({Scope.WORKER}))
                  if self.worker_token else None]
        return (*(each for each in legacy if each is not None), *self.tokens)

    def _has(self, scope: Scope) -> bool:
        return any(scope in each.scopes for each in self.named_tokens)

    def with_tokens(self) -> Config:
        """An admin and a worker token made up for this run where no token has that
        scope (printed at start)."""
        return replace(
            self,
            admin_token=self.admin_token or (None if self._has(Scope.ADMIN)
                                             else secrets.token_urlsafe(24)),
            worker_token=self.worker_token or (None if self._has(Scope.WORKER)
                                               else secrets.token_urlsafe(24)))


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None,
                **flags: Any) -> Config:
    """Defaults, overridden by the TOML file, the environment, then non-None flags."""
    settings: dict[str, Any] = {}
    if path is not None:
        settings.update(_from_file(path))
    for variable, name in ENVIRONMENT.items():
        if environ and environ.get(variable):
            settings[name] = environ[variable]
    settings.update({name: value for name, value in flags.items() if value is not None})
    return _build(settings)


def _from_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {unknown}; known: {sorted(known)}")
    if "data_dir" in data:
        data["data_dir"] = (path.parent / Path(data["data_dir"]).expanduser()).resolve()
    if "tokens" in data:
        data["tokens"] = _tokens(path, data["tokens"])
    return data


def _tokens(path: Path, entries: Any) -> tuple[NamedToken, ...]:
    if not isinstance(entries, list) or not all(isinstance(each, dict) for each in entries):
        raise ConfigError(f"{path}: tokens must be [[tokens]] tables (name, token, scopes)")
    try:
        return tuple(token_from(each, f"{path}: tokens[{index}]")
                     for index, each in enumerate(entries))
    except TokenProblem as exc:
        raise ConfigError(str(exc)) from None


def _build(settings: dict[str, Any]) -> Config:
    roles = settings.get("roles", ROLES)
    if isinstance(roles, str):
        roles = [role.strip() for role in roles.split(",") if role.strip()]
    wrong = sorted(set(roles) - set(ROLES))
    if wrong or not roles:
        raise ConfigError(f"roles {wrong or roles} are not roles; choose from {list(ROLES)}")
    settings["roles"] = tuple(role for role in ROLES if role in roles)
    listen = str(settings.get("listen", DEFAULT_LISTEN))
    _, _, port = listen.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"listen is {listen!r}; write host:port, e.g. 127.0.0.1:8080")
    if "data_dir" in settings and settings["data_dir"] is not None:
        settings["data_dir"] = Path(settings["data_dir"]).expanduser()
    for name in ("max_body_bytes", "max_batch", "pool_size"):
        if name in settings and (not isinstance(settings[name], int) or settings[name] < 1):
            raise ConfigError(f"{name} must be a positive whole number, not {settings[name]!r}")
    if settings.get("max_batch", 1) > MAX_BATCH:
        raise ConfigError(f"max_batch is at most {MAX_BATCH}, the protocol's limit")
    _check_observability(settings)
    _check_retention(settings)
    interval = settings.get("sweeper_interval_seconds", 1.0)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
        raise ConfigError(f"sweeper_interval_seconds must be a positive number, not {interval!r}")
    return _checked_tokens(Config(**settings))


def _checked_tokens(config: Config) -> Config:
    if config.admin_token and config.admin_token == config.worker_token:
        raise ConfigError("admin_token and worker_token must differ")
    try:
        check_distinct(config.named_tokens)
    except TokenProblem as exc:
        raise ConfigError(f"{exc} (admin_token is named 'admin', worker_token 'worker')"
                          ) from None
    return config


def _check_retention(settings: dict[str, Any]) -> None:
    days = settings.get("retention_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int | float)
                             or days <= 0):
        raise ConfigError(f"retention_days must be a positive number of days, not {days!r}")


def _check_observability(settings: dict[str, Any]) -> None:
    share = settings.get("sla_at_risk_share", 0.8)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
        raise ConfigError(f"sla_at_risk_share must be a number between 0 and 1, not {share!r}")
    cache = settings.get("metrics_cache_seconds", 5.0)
    if isinstance(cache, bool) or not isinstance(cache, int | float) or cache < 0:
        raise ConfigError(f"metrics_cache_seconds must be 0 or more, not {cache!r}")
    for name in ("metrics_enabled", "metrics_public"):
        if not isinstance(settings.get(name, False), bool):
            raise ConfigError(f"{name} must be true or false, not {settings[name]!r}")
