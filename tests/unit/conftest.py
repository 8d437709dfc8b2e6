"""Shared fixtures of the unit tests: the reference definition in its several forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from relentless import Definition, load_definition

PAYMENT_PATH = Path(__file__).resolve().parents[2] / "examples" / "payment.yaml"


@pytest.fixture(scope="session")
def payment_path() -> Path:
    return PAYMENT_PATH


@pytest.fixture(scope="session")
def payment_text() -> str:
    return PAYMENT_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def payment() -> Definition:
    return load_definition(PAYMENT_PATH)
