"""A scenario learned from the stats route: counts become weights, rates probabilities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relentless import Definition, protocol
from relentless.errors import UserError
from relentless.simulation.learned import scenario_data
from relentless.simulation.remote import parse_reference, parse_since
from relentless.simulation.scenario import scenario_from_data

SINCE = datetime(2026, 5, 1, tzinfo=UTC)


def stats(**nodes: protocol.NodeStats) -> protocol.DefinitionStats:
    return protocol.DefinitionStats(name="payment", version=3, since=SINCE,
                                    until=datetime(2026, 5, 8, tzinfo=UTC), workflows=10,
                                    sampled=10, nodes=nodes)


def node(**settings: object) -> protocol.NodeStats:
    values: dict[str, object] = {
        "manual": False, "attempts": 10, "completed": 7, "failed": 2, "expired": 1,
        "permanent": 1, "labels": {"ok": 6, "declined": 1}, "fail_rate": 0.1,
        "lost_rate": 0.1, "permanent_rate": 0.1,
        "durations": protocol.DurationHistogram(edges_ms=[100, 112, 126], counts=[5, 4])}
    values.update(settings)
    return protocol.NodeStats(**values)  # type: ignore[arg-type]


def test_counts_become_weights_and_rates_probabilities(payment: Definition) -> None:
    data = scenario_data(stats(charge=node()), payment, "http://server")
    scenario = scenario_from_data(data, payment)
    charge = scenario.steps["charge"]
    assert charge.labels["ok"] == pytest.approx(6 / 7)
    assert charge.labels.get("error", 0.0) == 0.0
    assert (charge.fail, charge.lost, charge.permanent) == (0.1, 0.1, 0.1)
    assert (charge.duration.minimum_ms, charge.duration.maximum_ms) == (100, 126)
    assert scenario.source == {"by": "history", "server": "http://server",
                               "since": SINCE.isoformat(),
                               "until": "2026-05-08T00:00:00+00:00", "workflows": "10"}
    # Nodes nobody worked at keep the defaults.
    assert scenario.steps["ship"].fail == 0.0


def test_people_are_not_given_failures_and_shares_never_pass_one(payment: Definition) -> None:
    data = scenario_data(stats(
        escalate=node(manual=True, labels={"refund": 3}),
        ship=node(labels={"shipped": 1}, fail_rate=0.7, lost_rate=0.2,
                  permanent_rate=0.1 + 1e-16)), payment, "u")
    assert "fail" not in data["nodes"]["escalate"]
    ship = data["nodes"]["ship"]
    assert ship["fail"] + ship["lost"] + ship["permanent"] <= 1.0
    scenario_from_data(data, payment)


def test_references_and_periods() -> None:
    assert parse_reference("payment") == ("payment", None)
    assert parse_reference("payment@12") == ("payment", 12)
    with pytest.raises(UserError):
        parse_reference("payment@latest")
    now = datetime(2026, 5, 8, tzinfo=UTC)
    assert parse_since("7d", now) == SINCE
    assert parse_since("2026-05-01T00:00:00") == SINCE
    assert parse_since(None) is None
    with pytest.raises(UserError):
        parse_since("last tuesday")
