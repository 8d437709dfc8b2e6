"""The end-to-end harness runs: a tiny Relentless run over HTTP, and its JSON keeps its keys.

Not a measurement (that is ``python -m bench.e2e``): 20 workflows of 3 steps through
one worker process, on the tests' embedded server, in a few seconds.
"""

from __future__ import annotations

import json

import pytest

from bench.e2e.cli import main
from bench.e2e.database import sqlalchemy_url
from bench.e2e.samples import Recorder, summarise


def test_a_tiny_run_completes_and_reports_the_documented_keys(
        server_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--workflows", "20", "--steps", "3", "--workers", "1", "--max-seconds", "60",
                 "--json", "--no-save", "--dsn", server_dsn])

    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert {"systems", "ratios", "sweep", "machine", "checks"} <= set(result)
    figures = result["systems"]["relentless"]
    assert figures["complete"] is True
    assert set(figures["steps_per_s"]) == {"median", "min", "max"}
    assert figures["steps_per_s"]["median"] > 0
    assert figures["lease_ms"]["p50"] is not None
    assert figures["runs"][0]["steps"] == 60
    assert result["ratios"] == {}
    assert result["machine"]["postgres"]["fsync"] == "on"


def test_lease_latency_joins_steps_made_ready_in_one_process_and_leased_in_another() -> None:
    completing, leasing = Recorder(), Recorder()
    completing.lease((1, 1), at=10.0)
    completing.made_ready((1, 2), at=10.5)
    completing.done(1, at=10.5)
    leasing.lease((1, 2), at=10.52)
    leasing.done(1, at=10.6)

    summary = summarise([completing, leasing])

    assert summary.lease_ms.count == 1
    assert summary.lease_ms.p50 == pytest.approx(20.0)
    assert summary.steps == 2
    assert summary.seconds == pytest.approx(0.6)


def test_a_unix_socket_dsn_becomes_a_sqlalchemy_url_on_the_same_socket() -> None:
    url = sqlalchemy_url("postgresql://postgres:@/e2e_dbos_1?host=/tmp/pg/data")

    assert url == "postgresql+psycopg://postgres@/e2e_dbos_1?host=%2Ftmp%2Fpg%2Fdata"
