"""The ``relentless`` command line: messages for people, JSON for machines.

Every RelentlessError a command raises ends here as one line and its exit code
(relentless.exit_codes), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from relentless import __version__
from relentless.core.definition import Definition
from relentless.core.reader import load_definition
from relentless.core.render import render
from relentless.errors import DefinitionInvalid, Problem, RelentlessError
from relentless.exit_codes import ExitCode, exit_code_of
from relentless.logs import LEVELS
from relentless.logs import configure as configure_logs
from relentless.operator_cli import DEFAULT_URL
from relentless.operator_cli import register as register_operator_commands
from relentless.problem_report import problem_report
from relentless.simulation.commands import register as register_simulation_commands


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        code: int = arguments.run(arguments, sys.stdout, sys.stderr)
    except RelentlessError as exc:
        sys.stderr.write(f"relentless {arguments.command}: {exc}\n")
        return exit_code_of(exc)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relentless", description="Durable workflows that complete under strict SLAs.")
    parser.add_argument("--version", action="version", version=f"relentless {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND", dest="command")

    validate = commands.add_parser(
        "validate", help="check definition files and report every problem")
    validate.add_argument("files", nargs="+", metavar="FILE", help="YAML or JSON definitions")
    validate.add_argument("--json", action="store_true", help="print one JSON object")
    validate.set_defaults(run=_validate)

    render_command = commands.add_parser("render", help="print a definition's graph")
    render_command.add_argument("file", metavar="FILE", help="a YAML or JSON definition "
                                "(a published one: relentless definitions render NAME)")
    render_command.add_argument("--format", choices=("dot", "mermaid"), default="dot",
                                help="Graphviz DOT or Mermaid (default: dot)")
    render_command.set_defaults(run=_render)

    serve = commands.add_parser("serve", help="run the server (embedded PostgreSQL by default)")
    serve.add_argument("--config", type=Path, metavar="FILE", help="a TOML configuration file")
    serve.add_argument("--dsn", help="PostgreSQL to use (default: the embedded server)")
    serve.add_argument("--data-dir", type=Path, help="where the embedded server keeps its data")
    serve.add_argument("--listen", metavar="HOST:PORT", help="address to serve on")
    serve.add_argument("--roles", help="comma-separated: gateway,api,sweeper (default: all)")
    serve.add_argument("--log-level", default="info", choices=LEVELS, help="the least to log")
    serve.add_argument("--log-format", default="text", choices=("text", "json"),
                       help="text for people, json for one JSON object per line")
    serve.add_argument("--access-log", action="store_true",
                       help="log one line per HTTP request (off by default)")
    serve.set_defaults(run=_serve)

    register_operator_commands(commands)
    register_simulation_commands(commands)
    _add_worker_command(commands)
    _add_demo_command(commands)
    return parser


def _add_worker_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = commands.add_parser(
        "worker", help="run a worker object found by import path",
        description="Run a relentless.worker.Worker (or a function returning one) until "
                    "SIGINT or SIGTERM: it stops leasing, finishes or releases what it "
                    "holds, and exits 0; a second signal releases running jobs at once.")
    worker.add_argument("target", metavar="MODULE:OBJECT",
                        help="e.g. relentless.examples.payment_worker:worker")
    worker.add_argument("--url", default=os.environ.get("RELENTLESS_URL"),
                        help="the server (default: $RELENTLESS_URL, else the worker's own, "
                             "else http://127.0.0.1:8080)")
    worker.add_argument("--token", default=os.environ.get("RELENTLESS_WORKER_TOKEN"),
                        help="a worker token (default: $RELENTLESS_WORKER_TOKEN)")
    worker.add_argument("--name", help="the worker's name in leases (default: host-pid)")
    worker.add_argument("--concurrency", type=int, help="handlers running at once")
    worker.add_argument("--batch", type=int, help="most jobs per lease and per completion")
    worker.add_argument("--lease-seconds", type=float, help="how long a lease lasts")
    worker.add_argument("--wait-seconds", type=float, help="long poll of a lease request")
    worker.add_argument("--grace-seconds", type=float,
                        help="on stop, how long running jobs may take before release")
    worker.add_argument("--log-level", default="info",
                        choices=("debug", "info", "warning", "error"), help="the least to log")
    worker.set_defaults(run=_worker)


def _add_demo_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="run the payment example end to end: database, server and worker",
        description="Start an embedded PostgreSQL, a server and the example worker in this "
                    "process, run payment workflows to their ends, and show where each "
                    "ended and how long it took.")
    demo.add_argument("--workflows", type=int, default=300, metavar="N",
                      help="how many workflows to run (default: 300)")
    demo.add_argument("--data-dir", type=Path,
                      help="keep the database here (default: a fresh temporary one, removed "
                           "afterwards)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the example orders")
    demo.add_argument("--concurrency", type=int, default=64, help="the worker's concurrency")
    demo.add_argument("--port", type=int, default=0, help="the server's port (default: any)")
    demo.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                      help="give up if the workflows have not all ended by then")
    demo.add_argument("--keep-running", action="store_true",
                      help="keep the server and worker up after the summary, until Ctrl-C")
    demo.set_defaults(run=_demo)


def _validate(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    results = {}
    worst = ExitCode.OK
    for path in arguments.files:
        try:
            definition = load_definition(path)
        except (OSError, UnicodeDecodeError) as exc:
            results[path] = {"valid": False, "error": f"cannot read: {_unreadable(exc)}"}
            err.write(f"{path}: cannot read: {_unreadable(exc)}\n")
            worst = max(worst, ExitCode.USAGE)
        except DefinitionInvalid as exc:
            results[path] = {"valid": False, "problems": [_problem_data(p) for p in exc.problems]}
            if not arguments.json:
                err.write(problem_report(path, exc.problems))
            worst = max(worst, ExitCode.REFUSED)
        else:
            results[path] = {"valid": True, **_summary(definition)}
            if not arguments.json:
                out.write(f"{path}: valid — {_summary_line(definition)}\n")
    if arguments.json:
        out.write(json.dumps(results, indent=2) + "\n")
    return worst


def _render(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        definition = load_definition(arguments.file)
    except (OSError, UnicodeDecodeError) as exc:
        err.write(f"{arguments.file}: cannot read: {_unreadable(exc)}\n")
        return ExitCode.USAGE
    except DefinitionInvalid as exc:
        err.write(problem_report(arguments.file, exc.problems))
        return ExitCode.REFUSED
    out.write(render(definition, arguments.format))
    return ExitCode.OK


def _unreadable(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
    return exc.strerror or str(exc)


def _serve(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from aiohttp import web  # noqa: PLC0415 - only the server needs it

    from relentless.config import load_config  # noqa: PLC0415
    from relentless.service.app import create_app  # noqa: PLC0415

    config = load_config(arguments.config, os.environ, dsn=arguments.dsn,
                         data_dir=arguments.data_dir, listen=arguments.listen,
                         roles=arguments.roles)
    if not config.admin_token or not config.worker_token:
        config = config.with_tokens()
        out.write(f"no tokens configured; for this run only:\n"
                  f"  admin token:  {config.admin_token}\n  worker token: {config.worker_token}\n")
    from relentless.store.embedded import default_data_dir  # noqa: PLC0415

    configure_logs(arguments.log_level, arguments.log_format,
                   node=f"{socket.gethostname()}:{config.port}", roles=config.roles,
                   embedded_log=None if config.dsn else
                   (config.data_dir or default_data_dir()).parent / "embedded-postgres.log")

    def serving(_: str) -> None:  # called once the store is open and the port bound
        out.write(f"relentless serving {','.join(config.roles)} on http://{config.listen}\n")
        out.flush()

    # A client gone mid-request cancels its handler: a long-poll must not lease
    # jobs for a worker that stopped listening (each would cost an attempt).
    web.run_app(create_app(config), host=config.host, port=config.port, print=serving,
                handler_cancellation=True,
                access_log=logging.getLogger("aiohttp.access") if arguments.access_log
                else None)
    return ExitCode.OK


def _worker(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import asyncio  # noqa: PLC0415 - only the worker needs these

    from relentless.worker.loading import load_worker  # noqa: PLC0415

    worker = load_worker(arguments.target)
    worker.configure(url=arguments.url or worker.settings.url or DEFAULT_URL,
                     token=arguments.token, name=arguments.name,
                     concurrency=arguments.concurrency, batch=arguments.batch,
                     lease_seconds=arguments.lease_seconds,
                     wait_seconds=arguments.wait_seconds, grace_seconds=arguments.grace_seconds)
    logging.basicConfig(level=arguments.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(worker.run(handle_signals=True))
    return ExitCode.OK


def _demo(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from relentless.demo import DemoEnd, DemoOptions, run_demo  # noqa: PLC0415

    options = DemoOptions(arguments.workflows, arguments.data_dir, arguments.seed,
                          arguments.concurrency, arguments.port, arguments.timeout,
                          arguments.keep_running)
    end = run_demo(options, out, err)
    return {DemoEnd.FINISHED: ExitCode.OK, DemoEnd.UNFINISHED: ExitCode.UNFINISHED,
            DemoEnd.INTERRUPTED: ExitCode.INTERRUPTED}[end]


def _problem_data(problem: Problem) -> dict[str, object]:
    return {"code": problem.code, "node": problem.node, "field": problem.field,
            "line": problem.line, "message": problem.message, "hint": problem.hint}


def _summary(definition: Definition) -> dict[str, object]:
    return {"name": definition.name, "nodes": len(definition.nodes),
            "leaves": list(definition.leaves), "fingerprint": definition.fingerprint}


def _summary_line(definition: Definition) -> str:
    return (f"{definition.name}: {len(definition.nodes)} nodes, outcomes "
            f"{', '.join(definition.leaves)}; fingerprint {definition.fingerprint[:12]}")


if __name__ == "__main__":
    sys.exit(main())
