"""The lockstep test is not vacuous: bugs injected into the engine make it fail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from relentless.core.definition import Backoff
from relentless.engine import worker_protocol
from relentless.vocabulary import JobState
from tests.stateful.test_engine_matches_model import STEPS, Run, machine_for


def _accepts_completions_of_ended_attempts(patch: pytest.MonkeyPatch) -> None:
    """An expired or closed job still counts as the step's open job."""
    patch.setattr(worker_protocol, "OPEN_JOB_STATES", frozenset(JobState))


def _retries_without_backoff(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(Backoff, "delay_ms", lambda self, failed_attempts: 0)


@pytest.mark.parametrize("inject", [_accepts_completions_of_ended_attempts,
                                    _retries_without_backoff])
def test_an_injected_engine_bug_is_caught(inject: Callable[[pytest.MonkeyPatch], None],
                                          run: Run, database_dsn: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        inject(patch)
        with pytest.raises(AssertionError):
            run_state_machine_as_test(
                machine_for(run, database_dsn),
                # No shrinking: finding the failure is the point, not minimising it.
                settings=settings(stateful_step_count=STEPS, phases=[Phase.generate],
                                  max_examples=300))
