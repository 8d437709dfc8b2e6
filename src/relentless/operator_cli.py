"""``relentless definitions ...`` and ``relentless workflows ...``: the operator's commands.

They talk to a running server (``--url``, ``--token`` or RELENTLESS_URL and
RELENTLESS_ADMIN_TOKEN); tables for people, ``--json`` for machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import msgspec
from rich.console import Console
from rich.table import Table

from relentless import protocol
from relentless.client import AdminClient, ApiRefused
from relentless.core.durations import parse_duration
from relentless.core.source import format_of
from relentless.exit_codes import ExitCode
from relentless.vocabulary import Verdict, WorkflowStatus

DEFAULT_URL = "http://127.0.0.1:8080"

Command = Callable[[AdminClient, argparse.Namespace], Awaitable[msgspec.Struct]]


def register(commands: Any) -> None:
    """Add the ``definitions`` and ``workflows`` command groups to the parser."""
    definitions = commands.add_parser("definitions", help="publish and list definitions")
    group = definitions.add_subparsers(required=True, metavar="ACTION")
    _remote(group.add_parser("publish", help="publish a definition file"), _publish,
            ("file", {"type": Path, "metavar": "FILE"}))
    _remote(group.add_parser("list", help="list published definitions"), _list_definitions)

    _remote(commands.add_parser(
        "prune", help="delete finished workflows older than an age (retention by hand)"),
        _prune, ("--older-than", {"required": True, "type": _age, "metavar": "DURATION",
                                  "help": "e.g. 30d: workflows that ended longer ago"}),
        ("--dry-run", {"action": "store_true", "help": "count them, delete nothing"}))

    workflows = commands.add_parser("workflows", help="start, inspect and act on workflows")
    group = workflows.add_subparsers(required=True, metavar="ACTION")
    _remote(group.add_parser("start", help="start a workflow"), _start,
            ("definition", {}), ("--version", {"type": int}), ("--key", {}),
            ("--context", {"help": "a JSON object", "type": json.loads, "default": None}))
    _remote(group.add_parser("show", help="one workflow"), _show, ("id", {"type": int}))
    _remote(group.add_parser("history", help="a workflow's path so far"), _history,
            ("id", {"type": int}))
    _remote(group.add_parser("timeline", help="every step's attempts, errors and events"),
            _timeline, ("id", {"type": int}),
            ("--after-step", {"type": int, "default": 0, "help": "start after this step"}),
            ("--limit", {"type": int, "default": 100, "help": "steps per page"}))
    _remote(group.add_parser("list", help="workflows, newest first"), _list_workflows,
            ("--status", {"choices": [status.value for status in WorkflowStatus]}),
            ("--definition", {}), ("--limit", {"type": int, "default": 50}),
            ("--cursor", {"type": int}))
    _remote(group.add_parser("cancel", help="cancel a workflow"), _cancel,
            ("id", {"type": int}), ("--reason", {"default": ""}),
            ("--by", {"default": os.environ.get("USER", "operator")}))
    _remote(group.add_parser("move", help="move a workflow to a node (mitigation)"), _move,
            ("id", {"type": int}), ("node", {}), ("--reason", {"default": ""}),
            ("--by", {"default": os.environ.get("USER", "operator")}))


def _remote(parser: argparse.ArgumentParser, command: Command,
            *arguments: tuple[str, dict[str, Any]]) -> None:
    for name, options in arguments:
        parser.add_argument(name, **options)
    parser.add_argument("--url", default=os.environ.get("RELENTLESS_URL", DEFAULT_URL))
    parser.add_argument("--token", default=os.environ.get("RELENTLESS_ADMIN_TOKEN"),
                        help="the admin token (default: $RELENTLESS_ADMIN_TOKEN)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=lambda args, out, err: _call(command, args, out, err))


def _call(command: Command, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not arguments.token:
        err.write("no admin token: pass --token or set RELENTLESS_ADMIN_TOKEN\n")
        return ExitCode.USAGE

    async def call() -> msgspec.Struct:
        async with AdminClient(arguments.url, arguments.token) as client:
            return await command(client, arguments)

    try:
        result = asyncio.run(call())
    except ApiRefused as refused:
        err.write(f"refused: {refused}\n")
        if refused.details:
            err.write(json.dumps(refused.details, indent=2) + "\n")
        return ExitCode.REFUSED
    except (aiohttp.ClientError, OSError) as exc:
        err.write(f"cannot reach {arguments.url}: {exc}\n")
        return ExitCode.USAGE
    shown = msgspec.to_builtins(result)
    if arguments.json:
        out.write(json.dumps(shown, indent=2) + "\n")
    else:
        _print(shown, out)
    declined = getattr(result, "verdict", None) is Verdict.REJECTED
    return ExitCode.REFUSED if declined else ExitCode.OK


async def _publish(client: AdminClient, arguments: argparse.Namespace) -> Any:
    path: Path = arguments.file
    return await client.publish(path.read_text(encoding="utf-8"), format_of(path) == "json")


async def _list_definitions(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.definitions()


async def _start(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.start(arguments.definition, version=arguments.version,
                              key=arguments.key, context=arguments.context)


async def _show(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.workflow(arguments.id)


async def _history(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.history(arguments.id)


def _age(text: str) -> float:
    """A duration flag in seconds, or argparse's clear error."""
    try:
        return parse_duration(text) / 1000
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; write e.g. 30d, 12h or 90m") from None


async def _prune(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.prune(arguments.older_than, dry_run=arguments.dry_run)


async def _timeline(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.timeline(arguments.id, arguments.after_step, arguments.limit)


async def _list_workflows(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.workflows(protocol.WorkflowQuery(
        status=arguments.status, definition=arguments.definition, limit=arguments.limit,
        cursor=arguments.cursor))


async def _cancel(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.cancel(arguments.id, arguments.reason)


async def _move(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.move(arguments.id, arguments.node, arguments.reason)


_TABLES = {  # the list inside an answer, and the columns to show of each row
    "workflows": ("workflow_id", "definition", "version", "status", "node", "step", "outcome",
                  "updated_at"),
    "history": ("step", "source", "label", "target", "kind", "attempt", "by", "at"),
    "definitions": ("name", "latest", "versions"),
    "attempts": ("step", "node", "attempt", "state", "holder", "ready_at", "ended_at", "label",
                 "error"),
}


def _print(result: Any, out: TextIO) -> None:
    """A table for a listing, aligned fields for one object."""
    console = Console(file=out, highlight=False, soft_wrap=True)
    if isinstance(result, dict) and "steps" in result:
        result = {"attempts": _attempt_rows(result["steps"]),
                  "next_step": result.get("next_step")}
    rows_key = next((key for key in _TABLES if isinstance(result, dict) and key in result),
                    None)
    if rows_key is None:
        for key, value in result.items():
            console.print(f"[bold]{key:>16}[/bold]  {_cell(value)}")
        return
    table = Table(*_TABLES[rows_key], box=None, header_style="bold")
    for row in result[rows_key]:
        table.add_row(*(_cell(row.get(column)) for column in _TABLES[rows_key]))
    console.print(table)
    if result.get("next_cursor"):
        console.print(f"more: --cursor {result['next_cursor']}")
    if result.get("next_step"):
        console.print(f"more: --after-step {result['next_step']}")


def _attempt_rows(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A timeline as one row per attempt, then one per event and per transition."""
    rows = []
    for step in steps:
        where = {"step": step["step"], "node": step["node"]}
        rows += [{**where, **attempt} for attempt in step["attempts"]]
        rows += [{**where, "state": event["kind"], "ended_at": event["at"],
                  "holder": event.get("by"), "error": event.get("reason")}
                 for event in step["events"]]
        if step.get("transition"):
            move = step["transition"]
            rows.append({**where, "state": move["kind"], "ended_at": move["at"],
                         "label": f"{move.get('label') or '-'} -> {move['target']}",
                         "holder": move.get("by")})
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
