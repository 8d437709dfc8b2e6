"""``relentless analyze`` and ``relentless simulate``: registered into the CLI's subcommands.

Each command reads its files, applies ``--set`` overrides, calls the analysis or a
simulator, and prints text or ``--json``. Mistakes in the input are raised as
:class:`relentless.errors.UserError`; the CLI turns them into a message and an exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any, TextIO

from relentless.core.compiler import compile_definition
from relentless.core.definition import Definition
from relentless.core.reader import definition_from_data
from relentless.core.source import SyntaxProblem, format_of, parse_text
from relentless.errors import DefinitionInvalid, UserError
from relentless.simulation import learned, naive, native, reference, remote
from relentless.simulation.analysis import analyze
from relentless.simulation.overrides import Override, apply, parse_overrides
from relentless.simulation.plot import plot_times
from relentless.simulation.report import analysis_data, analysis_text, simulation_text
from relentless.simulation.results import summarise
from relentless.simulation.runs import RunArrays
from relentless.simulation.scenario import Scenario, ScenarioInvalid, scenario_from_data
from relentless.simulation.tables import build_tables

SIMULATORS = ("cython", "numpy", "python")
DEFAULT_RUNS = 100_000
DEFAULT_MAX_STEPS = 10_000


class FileUnreadable(UserError):
    """A file named on the command line cannot be read."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``analyze`` and ``simulate`` to the CLI's subcommands."""
    analyze_command = commands.add_parser(
        "analyze", help="best and worst time from each node to each leaf, and unbounded cycles")
    analyze_command.add_argument("file", metavar="FILE",
                                 help="a YAML or JSON definition (with --url: NAME[@VERSION])")
    analyze_command.add_argument("--url", metavar="URL",
                                 help="analyze a version published on the server at URL")
    _add_token(analyze_command)
    analyze_command.add_argument("--json", action="store_true", help="print one JSON object")
    _add_set(analyze_command)
    analyze_command.set_defaults(run=run_analyze)

    simulate = commands.add_parser(
        "simulate", help="Monte Carlo runs of a definition under a scenario")
    simulate.add_argument("file", metavar="FILE",
                          help="a YAML or JSON definition (with --from: NAME[@VERSION])")
    simulate.add_argument("--from", metavar="URL", dest="from_url",
                          help="simulate a version published on the server at URL, under the "
                               "scenario learned from its history (its stats route)")
    simulate.add_argument("--since", metavar="WHEN",
                          help="with --from: learn from workflows started since WHEN, an ISO "
                               "time or a duration back from now (default 7d)")
    _add_token(simulate)
    simulate.add_argument("--scenario", metavar="S.yaml",
                          help="what workers do per node (default: every label equally "
                               "likely, instant attempts, no failures)")
    simulate.add_argument("--runs", type=_positive, default=DEFAULT_RUNS,
                          help=f"runs to simulate (default {DEFAULT_RUNS:,})")
    simulate.add_argument("--seed", type=_seed, default=0, help="seed of the random streams")
    simulate.add_argument("--threads", type=_positive, help="threads (default: every core)")
    simulate.add_argument("--max-steps", type=_positive, default=DEFAULT_MAX_STEPS,
                          help="steps after which a run counts as unfinished")
    simulate.add_argument("--simulator", choices=SIMULATORS, default="cython",
                          help="the Cython loop, or its NumPy and Python twins")
    simulate.add_argument("--json", action="store_true", help="print one JSON object")
    simulate.add_argument("--plot", metavar="FILE.png",
                          help="write a histogram of time to leaf per outcome")
    _add_set(simulate)
    simulate.set_defaults(run=run_simulate)


def _add_token(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", default=os.environ.get("RELENTLESS_ADMIN_TOKEN"),
                        help="with a server: a token with the viewer scope "
                             "(default: $RELENTLESS_ADMIN_TOKEN)")


def _add_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", dest="overrides",
                        help="what if: sla=1h, NODE.timeout=10s, NODE.attempts=5, "
                             "NODE.fail=0.1, NODE.labels.ok=0.8, ... (repeatable)")


def run_analyze(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``relentless analyze FILE``."""
    overrides = parse_overrides(arguments.overrides)
    scenario_keys = [o.text for o in overrides if not o.on_definition]
    if scenario_keys:
        raise UserError(f"--set {scenario_keys[0]}: analyze reads no scenario; "
                        "set only sla or a node's timeout, attempts, backoff or deadline")
    if arguments.url:
        published = remote.fetch(arguments.url, arguments.token, arguments.file, stats=False)
        definition = published_definition(published, arguments.url, overrides)
    else:
        definition = load_definition(arguments.file, overrides)
    analysis = analyze(definition)
    if arguments.json:
        out.write(json.dumps(analysis_data(analysis), indent=2) + "\n")
    else:
        out.write(analysis_text(analysis))
    return 0


def run_simulate(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``relentless simulate FILE --scenario S.yaml``."""
    overrides = parse_overrides(arguments.overrides)
    if arguments.from_url:
        if arguments.scenario:
            raise UserError("--from learns the scenario from the server; drop --scenario "
                            "(or use --set to change what was learned)")
        published = remote.fetch(arguments.from_url, arguments.token, arguments.file,
                                 stats=True, since=remote.parse_since(arguments.since))
        definition = published_definition(published, arguments.from_url, overrides)
        assert published.stats is not None
        data = learned.scenario_data(published.stats, definition, arguments.from_url)
        scenario = scenario_with(data, definition, overrides,
                                 f"{arguments.from_url} stats of {definition.name}")
    else:
        definition = load_definition(arguments.file, overrides)
        scenario = load_scenario(arguments.scenario, definition, overrides)
    compiled = compile_definition(definition)
    started = time.perf_counter()
    runs = _run(arguments, compiled, scenario)
    seconds = time.perf_counter() - started
    summary = {"simulator": arguments.simulator, "seed": arguments.seed, "seconds": seconds,
               **summarise(runs, compiled, definition.sla_ms)}
    if arguments.plot:
        plot_times(runs, compiled, arguments.plot, definition.sla_ms)
    out.write(json.dumps(summary, indent=2) + "\n" if arguments.json else
              simulation_text(summary))
    return 0


def _run(arguments: argparse.Namespace, compiled: Any, scenario: Scenario) -> RunArrays:
    if arguments.simulator == "python":
        return naive.simulate(compiled, scenario, arguments.runs, arguments.seed,
                              arguments.max_steps)
    tables = build_tables(compiled, scenario, arguments.max_steps)
    if arguments.simulator == "numpy":
        return reference.simulate(tables, arguments.runs, arguments.seed, arguments.max_steps)
    return native.simulate(tables, arguments.runs, arguments.seed, arguments.max_steps,
                           arguments.threads)


def load_definition(path: str, overrides: list[Override]) -> Definition:
    """The definition in ``path`` with the definition overrides applied, validated."""
    data = _parsed(path, lambda problem: DefinitionInvalid([problem], path))
    if isinstance(data, dict) and isinstance(data.get("nodes"), dict):
        apply(data, [o for o in overrides if o.on_definition], list(data["nodes"]))
    return definition_from_data(data, path)


def load_scenario(path: str | None, definition: Definition,
                  overrides: list[Override]) -> Scenario:
    """The scenario in ``path`` (or the default one) with scenario overrides applied."""
    data = {} if path is None else _parsed(path, lambda problem: ScenarioInvalid([problem], path))
    return scenario_with(data if data is not None else {}, definition, overrides, path)


def scenario_with(data: Any, definition: Definition, overrides: list[Override],
                  source: str | None) -> Scenario:
    """Scenario data with the scenario overrides applied, validated."""
    apply(data, [o for o in overrides if not o.on_definition], list(definition.nodes))
    return scenario_from_data(data, definition, source)


def published_definition(published: remote.Published, url: str,
                         overrides: list[Override]) -> Definition:
    """A version fetched from a server, with the definition overrides applied."""
    detail = published.detail
    where = f"{url} {detail.name} v{detail.version}"
    try:
        data = parse_text(detail.source, "json" if detail.source_format == "json" else "yaml")
    except SyntaxProblem as exc:
        raise DefinitionInvalid([exc.problem], where) from None
    if isinstance(data, dict) and isinstance(data.get("nodes"), dict):
        apply(data, [o for o in overrides if o.on_definition], list(data["nodes"]))
    return definition_from_data(data, where)


def _parsed(path: str, invalid: Any) -> Any:
    """Plain data of the file at ``path``; unreadable or malformed files raise a UserError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FileUnreadable(f"{path}: cannot read: not UTF-8 text (byte "
                             f"{exc.object[exc.start]:#04x} at offset {exc.start})") from None
    except OSError as exc:
        raise FileUnreadable(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return parse_text(text, format_of(path))
    except SyntaxProblem as exc:
        raise invalid(exc.problem) from None


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError("the seed must be from 0 to 2**64 - 1")
    return value
