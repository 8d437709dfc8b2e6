"""The fault suite: every test here is marked ``faults`` and gets a Cluster of its own,
closed (every process ended, PostgreSQL stopped, data removed) however it ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.cluster import Cluster

HERE = Path(__file__).parent
FIGURES: dict[str, object] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    started = Cluster()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[dict[str, object]]:
    """A test's figures, printed in the summary and kept in a JSON file (cluster.record)."""
    from tests.faults.cluster import record  # noqa: PLC0415

    found: dict[str, object] = {}
    yield found
    if found:
        FIGURES[request.node.name] = found
        record(request.node.name, found)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("fault figures")
        for name, found in FIGURES.items():
            terminalreporter.write_line(f"{name}: {json.dumps(found)}")
