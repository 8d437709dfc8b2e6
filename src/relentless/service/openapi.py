"""The OpenAPI document, written from the route table and the body types."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from relentless import __version__, protocol
from relentless.service.routes import Route

_REF = "#/components/schemas/{name}"
_STATUS_TEXT = {200: "Success", 201: "Created", 409: "Refused by the workflow's state"}
_ERRORS = {"400": "Malformed request", "401": "Missing or wrong token",
           "403": "The token lacks the scope", "404": "Not found",
           "413": "Body or batch too large", "422": "Invalid definition",
           "503": "Database unavailable"}


def document(routes: tuple[Route, ...]) -> dict[str, Any]:
    types = {route.request for route in routes if isinstance(route.request, type)}
    types |= {route.response for route in routes if route.response is not None}
    types |= {protocol.ErrorResponse, protocol.Health}
    ordered = sorted(types, key=lambda t: t.__name__)
    parameter_types = [*protocol.PATH_PARAMETERS.values(),
                       *{route.query for route in routes if route.query is not None}]
    schemas, components = msgspec.json.schema_components([*ordered, *parameter_types],
                                                         ref_template=_REF)
    parameters = _parameter_schemas(schemas[len(ordered):], components)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, parameters)
    paths["/healthz"] = {"get": _public("Liveness: the process answers")}
    paths["/readyz"] = {"get": _public("Readiness: the database answers")}
    if any(route.role == "api" for route in routes):
        paths["/metrics"] = {"get": {
            "summary": "Prometheus metrics (a token with the metrics scope, unless "
                       "metrics_public)", "security": [{"bearer": []}, {}],
            "responses": {"200": {"description": "The Prometheus text format", "content": {
                "text/plain": {"schema": {"type": "string"}}}},
                **{code: {"description": _ERRORS[code], "content": _json(protocol.ErrorResponse)}
                   for code in ("401", "403")}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Relentless", "version": __version__},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _ref(kind: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=kind.__name__)}


def _json(kind: type) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(kind)}}


def _parameter_schemas(schemas: tuple[dict[str, Any], ...],
                       components: dict[str, Any]) -> dict[Any, Any]:
    """The schema of each path parameter (by name) and of each query type's fields."""
    found: dict[Any, Any] = dict(zip(protocol.PATH_PARAMETERS, schemas, strict=False))
    for schema in schemas[len(protocol.PATH_PARAMETERS):]:
        name = schema["$ref"].rsplit("/", 1)[1]
        found[name] = components.pop(name)
    return found


def _absent_not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is left out, never sent as null: drop the null arm."""
    arms = [arm for arm in schema.get("anyOf", ()) if arm != {"type": "null"}]
    if len(arms) != 1:
        return schema
    return {**arms[0], **{key: value for key, value in schema.items()
                          if key not in ("anyOf", "default")}}


def _operation(route: Route, parameters: dict[Any, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.name, "summary": route.summary, "tags": [route.role],
        "security": [{"bearer": []}],
        "responses": {str(status): {"description": _STATUS_TEXT.get(status, "Success"),
                                    "content": _json(route.response)}
                      for status in route.statuses},
    }
    operation["responses"].update({code: {"description": text,
                                          "content": _json(protocol.ErrorResponse)}
                                   for code, text in _ERRORS.items()
                                   if code not in operation["responses"]})
    listed = [{"name": name, "in": "path", "required": True, "schema": parameters[name]}
              for name in re.findall(r"{(\w+)}", route.path)]
    if route.query is not None:
        fields = parameters[route.query.__name__]["properties"]
        listed += [{"name": name, "in": "query", "required": False,
                    "schema": _absent_not_null(schema)} for name, schema in fields.items()]
    if listed:
        operation["parameters"] = listed
    if isinstance(route.request, type):
        operation["requestBody"] = {"required": not route.optional_body,
                                    "content": _json(route.request)}
    elif route.request == "definition":
        operation["requestBody"] = {"required": True, "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}}}}
    return operation


def _public(summary: str) -> dict[str, Any]:
    return {"summary": summary, "responses": {
        "200": {"description": "OK", "content": _json(protocol.Health)},
        "503": {"description": "Not ready", "content": _json(protocol.ErrorResponse)}}}
