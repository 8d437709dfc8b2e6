"""Fixtures of the simulation tests: the payment example and its scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from relentless import Definition, load_definition
from relentless.simulation.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
PAYMENT = ROOT / "examples" / "payment.yaml"
PAYMENT_SCENARIO = ROOT / "docs" / "examples" / "payment-scenario.yaml"


@pytest.fixture(scope="session")
def payment() -> Definition:
    return load_definition(PAYMENT)


@pytest.fixture(scope="session")
def payment_scenario(payment: Definition) -> Scenario:
    return load_scenario(PAYMENT_SCENARIO, payment)
