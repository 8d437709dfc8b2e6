"""Relentless with metrics off: the baseline that shows what counting costs."""

from __future__ import annotations

from bench.e2e.systems.relentless import Relentless, work

SYSTEM = Relentless("relentless_nometrics", metrics=False)

__all__ = ["SYSTEM", "work"]
