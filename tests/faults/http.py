"""A small synchronous JSON client for the tests' own requests (the standard library's)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(method: str, url: str, body: object = None, *, token: str | None = None,
         timeout: float = 30.0, raw: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, Any]:
    """``(status, decoded JSON)`` of one request; an HTTP error status is an answer too."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
