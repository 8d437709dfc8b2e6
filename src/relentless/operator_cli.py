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
from datetime import UTC, datetime
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
from relentless.errors import Problem
from relentless.exit_codes import ExitCode
from relentless.problem_report import problem_report
from relentless.vocabulary import GiveUpCause, Verdict, WorkflowStatus

DEFAULT_URL = "http://127.0.0.1:8080"

Command = Callable[[AdminClient, argparse.Namespace], Awaitable[msgspec.Struct]]


def register(commands: Any) -> None:
    """Add the ``definitions``, ``workflows`` and ``manual-steps`` command groups."""
    definitions = commands.add_parser("definitions", help="publish, list and show definitions")
    group = definitions.add_subparsers(required=True, metavar="ACTION")
    _remote(group.add_parser("publish", help="publish a definition file"), _publish,
            ("file", {"type": Path, "metavar": "FILE", "help": "a YAML or JSON definition"}))
    _remote(group.add_parser("list", help="list published definitions"), _list_definitions)
    _remote(group.add_parser("show", help="a published version: its versions, nodes, "
                                          "operations and active workflows"), _show_definition,
            ("name", {"metavar": "NAME[@VERSION]", "type": _named_version,
                      "help": "a definition, at its latest version unless @VERSION"}))
    _remote(group.add_parser("render", help="a published version's graph (a file: "
                                            "relentless render FILE)"), _render_definition,
            ("name", {"metavar": "NAME[@VERSION]", "type": _named_version,
                      "help": "a definition, at its latest version unless @VERSION"}),
            ("--format", {"choices": ("dot", "mermaid"), "default": "dot",
                          "help": "Graphviz DOT or Mermaid (default: dot)"}))

    _remote(commands.add_parser(
        "prune", help="delete finished workflows older than an age (retention by hand)"),
        _prune, ("--older-than", {"required": True, "type": _age, "metavar": "DURATION",
                                  "help": "e.g. 30d: workflows that ended longer ago"}),
        ("--dry-run", {"action": "store_true", "help": "count them, delete nothing"}))

    workflows = commands.add_parser("workflows", help="start, inspect and act on workflows")
    group = workflows.add_subparsers(required=True, metavar="ACTION")
    _remote(group.add_parser("start", help="start a workflow"), _start,
            ("definition", {"help": "the definition's name"}),
            ("--version", {"type": int, "help": "a published version (default: the latest)"}),
            ("--key", {"help": "an idempotency key: the same key starts nothing new"}),
            ("--context", {"type": _json_object, "default": None, "metavar": "JSON",
                           "help": "the input: a JSON object, or @FILE.json"}))
    _remote(group.add_parser("show", help="one workflow"), _show,
            ("id", {"type": int, "help": "the workflow id"}))
    _remote(group.add_parser("history", help="a workflow's path so far"), _history,
            ("id", {"type": int, "help": "the workflow id"}))
    _remote(group.add_parser("timeline", help="every step's attempts, errors and events"),
            _timeline, ("id", {"type": int, "help": "the workflow id"}),
            ("--after-step", {"type": int, "default": 0, "help": "start after this step"}),
            ("--limit", {"type": int, "default": 100, "help": "steps per page"}))
    _remote(group.add_parser("list", help="workflows, newest first, filtered"),
            _list_workflows, *_filters(),
            ("--limit", {"type": int, "default": 50, "help": "workflows per page"}),
            ("--cursor", {"type": int, "help": "the previous page's next cursor"}))
    _remote(group.add_parser("cancel", help="cancel a workflow"), _cancel,
            ("id", {"type": int, "help": "the workflow id"}),
            ("--reason", {"default": "", "help": "why (kept in the audit trail)"}),
            ("--by", {"help": "ignored: the server records the token's name"}))
    _remote(group.add_parser("move", help="move a workflow to a node (mitigation)"), _move,
            ("id", {"type": int, "help": "the workflow id"}),
            ("node", {"help": "a node of the workflow's version"}),
            ("--reason", {"default": "", "help": "why (kept in the audit trail)"}),
            ("--by", {"help": "ignored: the server records the token's name"}))
    _remote(group.add_parser("retry", help="retry a workflow's current step now"), _retry,
            ("id", {"type": int, "help": "the workflow id"}),
            ("--reason", {"default": "", "help": "why (kept in the audit trail)"}))

    manual = commands.add_parser("manual-steps", help="steps waiting for a person")
    group = manual.add_subparsers(required=True, metavar="ACTION")
    _remote(group.add_parser("list", help="the manual steps waiting, oldest first"),
            _list_manual, ("--limit", {"type": int, "default": 100, "help": "most to list"}))
    _remote(group.add_parser("claim", help="claim a manual step, so others see who is on "
                                           "it"), _claim,
            ("job_id", {"metavar": "JOB_ID", "help": "as manual-steps list shows it"}))
    _remote(group.add_parser("complete", help="complete a manual step with a label"),
            _complete_manual,
            ("job_id", {"metavar": "JOB_ID", "help": "as manual-steps list shows it"}),
            ("--label", {"required": True, "help": "one of the step's labels"}),
            ("--note", {"help": "kept in the workflow's context as note"}),
            ("--output", {"type": _json_object, "metavar": "JSON",
                          "help": "an output object merged into the context, or @FILE.json"}))


def _filters() -> tuple[tuple[str, dict[str, Any]], ...]:
    """The flags of ``workflows list``: every filter of the API's listing."""
    return (
    ("--status", {"choices": [status.value for status in WorkflowStatus],
                  "help": "only workflows in this status"}),
    ("--definition", {"help": "only this definition's workflows"}),
    ("--version", {"type": int, "help": "only this version (with --definition)"}),
    ("--node", {"help": "only workflows at this node"}),
    ("--key", {"help": "the workflow started with this idempotency key"}),
    ("--incident", {"choices": [cause.value for cause in GiveUpCause],
                    "help": "only incidents of this cause"}),
    ("--retrying", {"action": "store_true",
                    "help": "only running workflows whose step is on attempt 2 or later"}),
    ("--started-after", {"type": _moment, "metavar": "TIME", "help": "e.g. 2024-05-01T12:00Z"}),
    ("--started-before", {"type": _moment, "metavar": "TIME", "help": "started before then"}),
    ("--updated-after", {"type": _moment, "metavar": "TIME", "help": "updated after then"}),
    ("--updated-before", {"type": _moment, "metavar": "TIME", "help": "updated before then"}),
    )


def _remote(parser: argparse.ArgumentParser, command: Command,
            *arguments: tuple[str, dict[str, Any]]) -> None:
    for name, options in arguments:
        parser.add_argument(name, **options)
    parser.add_argument("--url", default=os.environ.get("RELENTLESS_URL", DEFAULT_URL),
                        help="the server (default: $RELENTLESS_URL, else " + DEFAULT_URL + ")")
    parser.add_argument("--token", default=os.environ.get("RELENTLESS_ADMIN_TOKEN"),
                        help="an admin token, or a viewer token to read "
                             "(default: $RELENTLESS_ADMIN_TOKEN)")
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
    except DefinitionRefused as problems:
        err.write(str(problems))
        return ExitCode.REFUSED
    except ApiRefused as refused:
        err.write(f"refused: {refused}\n")
        if refused.details:
            err.write(json.dumps(refused.details, indent=2) + "\n")
        return ExitCode.REFUSED
    except (aiohttp.ClientError, OSError) as exc:
        err.write(f"cannot reach {arguments.url}: {exc}\n")
        return ExitCode.USAGE
    if isinstance(result, Rendered) and not arguments.json:
        out.write(result.text)
        return ExitCode.OK
    shown = msgspec.to_builtins(result)
    if arguments.json:
        out.write(json.dumps(shown, indent=2) + "\n")
    else:
        _print(shown, out)
    declined = getattr(result, "verdict", None) is Verdict.REJECTED
    return ExitCode.REFUSED if declined else ExitCode.OK


def _json_object(text: str) -> dict[str, Any]:
    """A JSON object flag (``@FILE`` reads it from a file), or argparse's clear error."""
    where = "the value"
    if text.startswith("@"):
        where = text[1:]
        try:
            text = Path(where).read_text(encoding="utf-8")
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot read {where}: {exc.strerror}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(
            f"{where} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            "write an object, e.g. '{\"order\": 42}', or @file.json") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{where} is JSON but not an object: write {{...}}")
    return value


def _moment(text: str) -> datetime:
    """A time flag with its zone (UTC when none is written)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time; write e.g. 2024-05-01T12:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _named_version(text: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME@VERSION``."""
    name, _, version = text.partition("@")
    if not name or (version and not version.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME or NAME@VERSION, e.g. payment@2")
    return name, int(version) if version else None


async def _publish(client: AdminClient, arguments: argparse.Namespace) -> Any:
    path: Path = arguments.file
    try:
        return await client.publish(path.read_text(encoding="utf-8"),
                                    format_of(path) == "json")
    except ApiRefused as refused:
        if refused.code != "invalid_definition" or not isinstance(refused.details, list):
            raise
        problems = [Problem(**{key: item.get(key) for key in _PROBLEM_FIELDS})
                    for item in refused.details]
        raise DefinitionRefused(problem_report(str(path), problems)) from None


_PROBLEM_FIELDS = ("code", "message", "hint", "node", "field", "line")


class DefinitionRefused(Exception):
    """The server found problems in a definition: the report, as validate prints it."""


async def _version(client: AdminClient, name: str, version: int | None) -> int:
    if version is not None:
        return version
    return max(each.version for each in (await client.definition_versions(name)).versions)


async def _show_definition(client: AdminClient, arguments: argparse.Namespace) -> Any:
    name, version = arguments.name
    versions = await client.definition_versions(name)
    detail = await client.definition(name, await _version(client, name, version))
    active = {each.version: each.active for each in versions.versions}
    return {"name": detail.name, "version": detail.version, "start": detail.start,
            "nodes": detail.nodes, "leaves": detail.leaves, "operations": detail.operations,
            "fingerprint": detail.fingerprint, "active": active.get(detail.version),
            "versions": [each.version for each in versions.versions]}


async def _render_definition(client: AdminClient, arguments: argparse.Namespace) -> Any:
    name, version = arguments.name
    detail = await client.definition(name, await _version(client, name, version))
    return Rendered(text=detail.dot if arguments.format == "dot" else detail.mermaid)


class Rendered(msgspec.Struct, frozen=True):
    """Text printed as it is (a graph), not as a table."""

    text: str


async def _retry(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.retry(arguments.id, arguments.reason)


async def _list_manual(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.manual_steps(arguments.limit)


async def _claim(client: AdminClient, arguments: argparse.Namespace) -> Any:
    return await client.claim(arguments.job_id)


async def _complete_manual(client: AdminClient, arguments: argparse.Namespace) -> Any:
    output = dict(arguments.output or {})
    if arguments.note:
        output["note"] = arguments.note
    return await client.complete_manual(arguments.job_id, arguments.label, output or None)


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
        status=arguments.status, definition=arguments.definition, version=arguments.version,
        node=arguments.node, key=arguments.key, incident=arguments.incident,
        retrying=arguments.retrying, started_after=arguments.started_after,
        started_before=arguments.started_before, updated_after=arguments.updated_after,
        updated_before=arguments.updated_before, limit=arguments.limit,
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
    "steps": ("job_id", "workflow_id", "node", "labels", "ready_at", "step_deadline",
              "claimed_by"),
    "attempts": ("step", "node", "attempt", "state", "holder", "ready_at", "ended_at", "label",
                 "error"),
}


def _print(result: Any, out: TextIO) -> None:
    """A table for a listing, aligned fields for one object."""
    # Not a terminal (a pipe, a file): as wide as the rows are, never cut short.
    console = Console(file=out, highlight=False, soft_wrap=True,
                      width=None if out.isatty() else 100_000)
    if isinstance(result, dict) and "steps" in result and "workflow_id" in result:
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
