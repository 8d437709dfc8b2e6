"""A definition's problems as people read them: one line each with where it is, and
the fix; ``relentless validate`` and ``definitions publish`` print the same report."""

from __future__ import annotations

from collections.abc import Sequence

from relentless.errors import Problem


def problem_report(path: str, problems: Sequence[Problem]) -> str:
    noun = "problem" if len(problems) == 1 else "problems"
    lines = [f"{path}: {len(problems)} {noun}"]
    for problem in problems:
        place = f"{path}:{problem.line}" if problem.line is not None else path
        lines.append(f"  {place}: {problem.location}: {problem.message} [{problem.code}]")
        lines.append(f"      fix: {problem.hint}")
    return "\n".join(lines) + "\n"
