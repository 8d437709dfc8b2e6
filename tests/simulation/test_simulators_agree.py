"""The Cython loop, its NumPy twin and the naive walk give the same answers.

On the same random streams they must agree bit for bit (they share one sampling
formula and one stream per run). On independent streams they must agree within
sampling error: for each outcome, the two shares differ by less than 4.4 standard
errors of their difference (two-sided 1e-5 per outcome; with at most 8 outcomes, a
false alarm rate under 1e-4 per example, and the examples are derandomised).
"""

from __future__ import annotations

import math
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from relentless import Definition, compile_definition
from relentless.simulation import naive, native, reference
from relentless.simulation.runs import RunArrays
from relentless.simulation.scenario import Scenario
from relentless.simulation.tables import build_tables
from tests.simulation.strategies import definitions, scenarios

FIELDS = ("end_node", "status", "time_ms", "steps", "node_time_ms", "node_visits",
          "node_attempts")
MAX_STEPS = 200
Z = 4.4


def assert_identical(left: RunArrays, right: RunArrays, what: str) -> None:
    for name in FIELDS:
        assert np.array_equal(getattr(left, name), getattr(right, name)), f"{what}: {name}"


@st.composite
def cases(draw: st.DrawFn) -> tuple[Definition, Scenario]:
    definition = draw(definitions())
    return definition, draw(scenarios(definition))


@settings(max_examples=60)
@given(case=cases(), seed=st.integers(0, 2**64 - 1))
def test_cython_numpy_and_python_are_identical_on_the_same_streams(
        case: tuple[Definition, Scenario], seed: int) -> None:
    definition, scenario = case
    compiled = compile_definition(definition)
    tables = build_tables(compiled, scenario, MAX_STEPS)
    cython = native.simulate(tables, 300, seed, MAX_STEPS, threads=3)
    assert_identical(cython, reference.simulate(tables, 300, seed, MAX_STEPS), "numpy")
    assert_identical(cython, naive.simulate(compiled, scenario, 300, seed, MAX_STEPS), "python")


def test_the_answer_does_not_depend_on_the_number_of_threads(
        payment: Definition, payment_scenario: Scenario) -> None:
    tables = build_tables(compile_definition(payment), payment_scenario, MAX_STEPS)
    one = native.simulate(tables, 50_000, 11, MAX_STEPS, threads=1)
    assert_identical(one, native.simulate(tables, 50_000, 11, MAX_STEPS, threads=2), "2")
    assert_identical(one, native.simulate(tables, 50_000, 11, MAX_STEPS, threads=7), "7")


def test_many_chunks_taken_in_turn_give_the_same_runs(payment: Definition,
                                                      payment_scenario: Scenario) -> None:
    tables = build_tables(compile_definition(payment), payment_scenario, MAX_STEPS)
    runs = native.MIN_RUNS_PER_CHUNK * 5 + 17  # five chunks per thread, an odd tail
    one = native.simulate(tables, runs, 4, MAX_STEPS, threads=1)
    assert_identical(one, native.simulate(tables, runs, 4, MAX_STEPS, threads=2), "chunks")


def test_a_later_chunk_of_runs_is_the_same_as_the_tail_of_one_big_run(
        payment: Definition, payment_scenario: Scenario) -> None:
    tables = build_tables(compile_definition(payment), payment_scenario, MAX_STEPS)
    whole = reference.simulate(tables, 1_000, 5, MAX_STEPS)
    tail = reference.simulate(tables, 400, 5, MAX_STEPS, first_run=600)
    assert np.array_equal(whole.time_ms[600:], tail.time_ms)


def test_different_seeds_give_different_runs(payment: Definition,
                                              payment_scenario: Scenario) -> None:
    tables = build_tables(compile_definition(payment), payment_scenario, MAX_STEPS)
    first = native.simulate(tables, 1_000, 1, MAX_STEPS)
    assert not np.array_equal(first.time_ms, native.simulate(tables, 1_000, 2, MAX_STEPS).time_ms)


def outcome_counts(runs: RunArrays) -> dict[tuple[int, int], int]:
    keys, counts = np.unique(np.stack([runs.status, runs.end_node]), axis=1, return_counts=True)
    return {(int(s), int(n)): int(c) for (s, n), c in zip(keys.T, counts, strict=True)}


def assert_shares_agree(left: RunArrays, right: RunArrays) -> None:
    a, b = outcome_counts(left), outcome_counts(right)
    n, m = left.runs, right.runs
    for key in set(a) | set(b):
        p, q = a.get(key, 0) / n, b.get(key, 0) / m
        pooled = (a.get(key, 0) + b.get(key, 0)) / (n + m)
        error = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n + 1 / m))
        assert abs(p - q) <= Z * error + 1e-9, f"outcome {key}: {p:.4f} vs {q:.4f}"


@settings(max_examples=25)
@given(case=cases())
def test_the_three_agree_within_sampling_error_on_independent_streams(
        case: tuple[Definition, Scenario]) -> None:
    definition, scenario = case
    compiled = compile_definition(definition)
    tables = build_tables(compiled, scenario, MAX_STEPS)
    cython = native.simulate(tables, 20_000, 1, MAX_STEPS)
    numpy_runs = reference.simulate(tables, 4_000, 2, MAX_STEPS)
    generator = random.Random(3)
    python = naive.simulate(compiled, scenario, 2_000, 0, MAX_STEPS,
                            streams=lambda run: naive.IndependentDraws(generator))
    assert_shares_agree(cython, numpy_runs)
    assert_shares_agree(cython, python)
