"""``relentless serve --log-format json``: every line is a JSON object, and an incident
raised is one WARNING line with its workflow id."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

from tests.service.conftest import ADMIN, WORKER

FAILING = """
name: logged
start: work
nodes:
  work: {operation: work, on: {ok: done}}
  done: {}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _call(url: str, token: str, method: str = "GET", body: Any = None,
          content_type: str = "application/json") -> Any:
    data = None if body is None else (body.encode() if isinstance(body, str)
                                      else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _wait_ready(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server died"
        try:
            _call(f"{url}/healthz", ADMIN)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server never answered")


def test_json_logs_parse_and_an_incident_is_one_warning_line(database_dsn: str) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "RELENTLESS_ADMIN_TOKEN": ADMIN,
                   "RELENTLESS_WORKER_TOKEN": WORKER}
    server = subprocess.Popen(
        [sys.executable, "-m", "relentless.cli", "serve", "--dsn", database_dsn, "--listen",
         f"127.0.0.1:{port}", "--log-format", "json", "--access-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        _wait_ready(url, server)
        _call(f"{url}/v1/definitions", ADMIN, "POST", FAILING, "application/yaml")
        started = _call(f"{url}/v1/workflows", ADMIN, "POST", {"definition": "logged"})
        leased = _call(f"{url}/v1/jobs/lease", WORKER, "POST",
                       {"worker": "w", "operations": ["work"]})
        _call(f"{url}/v1/jobs/fail", WORKER, "POST", {"worker": "w", "failures": [
            {"job_id": leased["jobs"][0]["job_id"], "error": "RuntimeError: down",
             "retryable": False}]})
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    lines = [json.loads(line) for line in errors.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    assert all({"time", "level", "logger", "message", "node", "roles"} <= set(line)
               for line in lines)
    [incident] = [line for line in lines if "incident raised" in line["message"]]
    assert (incident["level"], incident["workflow_id"]) == ("warning", started["workflow_id"])
    assert "RuntimeError: down" in incident["message"]
    assert any(line["logger"] == "aiohttp.access" for line in lines), "--access-log logs"
