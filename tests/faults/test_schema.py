"""schemathesis against /openapi.json of a real node, with the admin and the worker
token: no answer is a server error, and every answer matches the schema (its status,
content type and body). Examples are bounded and long-poll waits kept short."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.faults import checks
from tests.faults.cluster import ADMIN, WORKER, Cluster

EXAMPLES_PER_OPERATION = 25
LONGEST_WAIT = 0.1
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]


def _short_waits(case: Any) -> None:
    """A generated long-poll may ask to wait up to 60 s: keep it to LONGEST_WAIT."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("wait_seconds"), int | float):
        body["wait_seconds"] = min(body["wait_seconds"], LONGEST_WAIT)


def _exercise(operation: Any, url: str, token: str) -> int:
    """Run the checks on generated cases of one operation; how many cases ran."""
    ran = 0

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], database=None,
              suppress_health_check=list(HealthCheck))
    def exercise(case: Any) -> None:
        nonlocal ran
        ran += 1
        _short_waits(case)
        case.call_and_validate(base_url=url, headers={"Authorization": f"Bearer {token}"},
                               checks=CHECKS, timeout=30)

    exercise()
    return ran


def test_every_generated_request_is_answered_by_the_schema_and_never_a_5xx(
        cluster: Cluster, figures: dict[str, object]) -> None:
    node = cluster.start_node("n1")
    checks.publish(node.url)
    checks.start_workflows(node.url, 20)
    schema = schemathesis.openapi.from_url(f"{node.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()  # type: ignore[union-attr]
                  ]
    cases = {token_name: sum(_exercise(operation, node.url, token) for operation in operations)
             for token_name, token in (("admin", ADMIN), ("worker", WORKER))}
    assert node.alive
    figures.update({"fault": "schemathesis against /openapi.json", "operations":
                    len(operations), "cases": cases, "total_cases": sum(cases.values()),
                    "server_errors": 0, "schema_mismatches": 0})
