"""The example the demo runs: a payment definition (``payment.yaml``) and its worker.

Shipped inside the package so that ``relentless demo`` works from an installed wheel;
the repository's ``examples/`` directory holds the same definition and points here for
the worker.
"""

from __future__ import annotations

from importlib.resources import files


def payment_definition() -> str:
    """The text of the example payment definition (YAML)."""
    return files(__name__).joinpath("payment.yaml").read_text(encoding="utf-8")
