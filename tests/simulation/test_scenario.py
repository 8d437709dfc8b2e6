"""Scenario files: each problem named with its node, field and line; distributions sampled."""

from __future__ import annotations

from textwrap import dedent

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relentless import Definition
from relentless.simulation import distributions
from relentless.simulation.scenario import (
    ScenarioInvalid,
    default_scenario,
    parse_scenario,
)


def problems(text: str, definition: Definition) -> set[tuple[str, str | None, str | None, int]]:
    with pytest.raises(ScenarioInvalid) as caught:
        parse_scenario(dedent(text), definition)
    return {(p.code, p.node, p.field, p.line or 0) for p in caught.value.problems}


def test_the_example_scenario_reads_with_normalised_weights(payment_scenario: object) -> None:
    charge = payment_scenario.steps["charge"]  # type: ignore[attr-defined]
    assert sum(charge.labels.values()) == pytest.approx(1.0)
    assert charge.fail == 0.02 and charge.lost == 0.005
    assert payment_scenario.steps["notify_declined"].duration.maximum_ms == 200  # type: ignore[attr-defined]


def test_counts_work_as_weights(payment: Definition) -> None:
    scenario = parse_scenario("nodes: {charge: {labels: {ok: 900, error: 100}}}", payment)
    assert dict(scenario.steps["charge"].labels) == {"ok": 0.9, "error": 0.1}


def test_every_problem_is_reported_at_once_with_its_place(payment: Definition) -> None:
    found = problems("""\
    definition: shipping
    nodes:
      charge:
        labels: {ok: 1, shipped: 2, timeout: 1}
        duration: 3 seconds
        fail: 1.5
      escalate:
        lost: 0.1
      ghost: {}
      ship:
        duration: {uniform: [5s, 1s]}
        colour: red
    """, payment)
    assert found == {
        ("wrong_definition", None, "definition", 1),
        ("unknown_label", "charge", "labels.shipped", 4),
        ("reserved_label", "charge", "labels.timeout", 4),
        ("bad_duration", "charge", "duration", 5),
        ("bad_probability", "charge", "fail", 6),
        ("manual_failure", "escalate", "lost", 8),
        ("unknown_node", "ghost", None, 9),
        ("bad_duration", "ship", "duration.uniform", 11),
        ("unknown_field", "ship", "colour", 12),
    }


@pytest.mark.parametrize("duration", [
    "{lognormal: {median: 1s}}", "{lognormal: {median: 1s, sigma: 0}}",
    "{histogram: {edges: [1s, 0s], counts: [1]}}", "{histogram: {edges: [0s, 1s], counts: [0]}}",
    "{histogram: {edges: [0s, 1s], counts: [1, 2]}}", "{normal: 1s}", "[1s]"])
def test_a_malformed_distribution_is_refused(payment: Definition, duration: str) -> None:
    codes = {code for code, *_ in problems(f"nodes: {{ship: {{duration: {duration}}}}}",
                                            payment)}
    assert codes <= {"bad_duration", "bad_probability"} and codes


def test_a_syntax_error_has_a_line(payment: Definition) -> None:
    assert problems("nodes:\n  charge: [\n", payment) == {("syntax", None, None, 3)}


def test_the_default_scenario_makes_every_label_equally_likely(payment: Definition) -> None:
    charge = default_scenario(payment).steps["charge"]
    assert set(charge.labels.values()) == {1 / 3}
    assert charge.duration.maximum_ms == 0


@given(u=st.floats(0.0, 1.0, exclude_max=True))
def test_samples_stay_inside_each_distribution(u: float) -> None:
    assert distributions.fixed(250).sample(u) == 250
    assert 1_000 <= distributions.uniform(1_000, 2_000).sample(u) <= 2_000
    histogram = distributions.histogram([0, 10, 20, 30], [1, 0, 3])
    assert histogram.sample(u) < 10 or 20 <= histogram.sample(u) <= 30
    lognormal = distributions.lognormal(800, 0.5)
    assert lognormal.minimum_ms <= lognormal.sample(u) <= lognormal.maximum_ms


def test_a_lognormal_has_its_median_and_a_histogram_its_bin_shares() -> None:
    grid = [i / 10_000 for i in range(10_000)]
    lognormal = sorted(distributions.lognormal(800, 0.6).sample(u) for u in grid)
    assert lognormal[5_000] == pytest.approx(800, abs=2)
    histogram = [distributions.histogram([0, 10, 20], [3, 1]).sample(u) for u in grid]
    assert sum(value < 10 for value in histogram) == 7_500


def test_default_failures_apply_to_workers_not_to_people(payment: Definition) -> None:
    scenario = parse_scenario("defaults: {fail: 0.1, lost: 0.2}", payment)
    assert (scenario.steps["charge"].fail, scenario.steps["charge"].lost) == (0.1, 0.2)
    assert (scenario.steps["escalate"].fail, scenario.steps["escalate"].lost) == (0.0, 0.0)


def test_permanent_failures_are_read_bounded_and_kept_from_people(payment: Definition) -> None:
    scenario = parse_scenario("nodes: {charge: {fail: 0.1, permanent: 0.05, lost: 0.2}}",
                              payment)
    step = scenario.steps["charge"]
    assert (step.permanent_below, step.fail_below, step.lost_below) == (
        0.05, 0.05 + 0.1, 0.05 + 0.1 + 0.2)
    assert ("bad_probability", "charge", "fail", 1) in problems(
        "nodes: {charge: {fail: 0.5, lost: 0.3, permanent: 0.3}}", payment)
    assert ("manual_failure", "escalate", "permanent", 1) in problems(
        "nodes: {escalate: {permanent: 0.1}}", payment)
