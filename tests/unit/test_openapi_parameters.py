"""/openapi.json types path and query parameters as the server reads them, so that a
schema-driven client or fuzzer generates valid requests."""

from __future__ import annotations

from typing import Any

from relentless.service.openapi import document
from relentless.service.routes import ROUTES
from relentless.vocabulary import WorkflowStatus

DOCUMENT = document(ROUTES)


def _parameters(path: str, method: str = "get") -> dict[str, dict[str, Any]]:
    listed = DOCUMENT["paths"][path][method]["parameters"]
    return {parameter["name"]: parameter for parameter in listed}


def test_ids_and_versions_in_paths_are_bounded_integers() -> None:
    workflow_id = _parameters("/v1/workflows/{workflow_id}")["workflow_id"]["schema"]
    assert (workflow_id["type"], workflow_id["minimum"]) == ("integer", 1)
    version = _parameters("/v1/definitions/{name}/{version}")["version"]["schema"]
    assert (version["type"], version["maximum"]) == ("integer", 2**31 - 1)


def test_listing_filters_are_typed_and_never_null() -> None:
    query = _parameters("/v1/workflows")
    assert set(query) == {"status", "definition", "version", "node", "key", "incident",
                          "retrying", "started_after", "started_before", "updated_after",
                          "updated_before", "limit", "cursor"}
    status = query["status"]["schema"]
    enum = DOCUMENT["components"]["schemas"][status["$ref"].rsplit("/", 1)[1]]["enum"]
    assert sorted(enum) == sorted(member.value for member in WorkflowStatus)
    assert query["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000,
                                        "default": 50}
    assert all("anyOf" not in parameter["schema"] for parameter in query.values())


def test_a_listing_takes_every_filter_a_bulk_action_takes() -> None:
    """WorkflowQuery is WorkflowFilter's fields plus a page: the two cannot drift."""
    from relentless.protocol import WorkflowFilter, WorkflowQuery  # noqa: PLC0415

    assert set(WorkflowQuery.__struct_fields__) - {"limit", "cursor"} == set(
        WorkflowFilter.__struct_fields__)
    assert _parameters("/v1/workflows")["started_after"]["schema"]["format"] == "date-time"
