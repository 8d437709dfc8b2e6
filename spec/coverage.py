"""Which branches of the rules an exploration reached, so a scope hole shows as a number.

Each rule registers its branches (its distinct answers and paths) next to its code,
with ``branch``; the rule then calls ``Rules.reach`` on the path it takes. The checker
adds the tallies of the correct rules over every configuration and fails when a
registered branch was never reached: an unexplored branch is an unchecked one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

BRANCHES: dict[str, str] = {}
"""Every registered branch (``rule.path``) with what it means, in registration order."""


def branch(rule: str, path: str, doc: str) -> str:
    """Register one branch of ``rule`` and return its name, ``rule.path``."""
    name = f"{rule}.{path}"
    if BRANCHES.setdefault(name, doc) != doc:
        raise ValueError(f"branch {name} registered twice")
    return name


class Tally(Counter[str]):
    """How many times each branch was taken."""


def table(tallies: Iterable[Tally]) -> dict[str, int]:
    """Every registered branch with its total count, zero included, in registry order."""
    total: Counter[str] = Counter()
    for tally in tallies:
        total.update(tally)
    return {name: total[name] for name in BRANCHES}


def unreached(counts: dict[str, int]) -> list[str]:
    """The registered branches never taken."""
    return [name for name, count in counts.items() if count == 0]
