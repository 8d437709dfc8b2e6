"""The lockstep test is not vacuous: bugs injected into the engine make it fail."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from relentless.core.definition import Backoff
from relentless.engine import failures, worker_protocol
from relentless.store.statements import Connection
from relentless.vocabulary import JobState
from tests.stateful.test_engine_matches_model import STEPS, Run, machine_for


def _accepts_completions_of_ended_attempts(patch: pytest.MonkeyPatch) -> None:
    """An expired or closed job still counts as the step's open job."""
    patch.setattr(worker_protocol, "OPEN_JOB_STATES", frozenset(JobState))


def _retries_without_backoff(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(Backoff, "delay_ms", lambda self, failed_attempts: 0)


async def _give_back(self: failures._Failures, connection: Connection) -> None:
    for workflow, step, attempt in self._failed:
        await connection.execute(
            "UPDATE relentless_jobs SET state = 'ready', holder = NULL, leased_at = NULL, "
            "lease_expires_at = NULL, ready_at = $4 "
            "WHERE workflow_id = $1 AND step = $2 AND attempt = $3",
            workflow, step, attempt, self._now)


def _failure_uses_no_attempt(patch: pytest.MonkeyPatch) -> None:
    """A failed attempt is given back like a release (issue #10's first finding): ready
    again at once, the same attempt, nothing recorded, so a step that always fails never
    gives up."""
    patch.setattr(failures._Failures, "write", _give_back)


@pytest.mark.parametrize("inject", [_accepts_completions_of_ended_attempts,
                                    _retries_without_backoff, _failure_uses_no_attempt])
def test_an_injected_engine_bug_is_caught(inject: Callable[[pytest.MonkeyPatch], None],
                                          run: Run, database_dsn: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        inject(patch)
        # A broken engine shows as a mismatch, or as PostgreSQL refusing what it writes.
        with pytest.raises((AssertionError, asyncpg.PostgresError)):
            run_state_machine_as_test(
                machine_for(run, database_dsn),
                # No shrinking: finding the failure is the point, not minimising it.
                settings=settings(stateful_step_count=STEPS, phases=[Phase.generate],
                                  max_examples=300))
