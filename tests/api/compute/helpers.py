"""What the compute API tests share besides fixtures: microversion headers and a reply
checked for its status and, when the OpenAPI spec is present, its shape."""

from __future__ import annotations

import time
from typing import Any

import httpx

from pocketstack.testing.spec import ApiSpec
from tests.conftest import ServiceClient


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


LATEST = mv("latest")


def checked(spec: ApiSpec | None, reply: httpx.Response, method: str, path: str, expected: int) -> Any:
    """The reply's body, after its status and (when the spec is present) its shape are checked."""
    assert reply.status_code == expected, f"{method} {path}: {reply.status_code} {reply.text[:500]}"
    body = reply.json() if reply.content else None
    if spec is not None and body is not None:
        spec.check(method, "/v2.1" + path.split("?")[0], expected, body)
    return body


def wait_for(client: ServiceClient, server_id: str, status: str, *, task_done: bool = True, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    server: dict[str, Any] = {}
    while time.monotonic() < deadline:
        reply = client.get(f"/servers/{server_id}", headers=LATEST)
        assert reply.status_code == 200, reply.text
        server = reply.json()["server"]
        if server["status"] == status and (not task_done or server["OS-EXT-STS:task_state"] is None):
            return server
        assert server["status"] != "ERROR" or status == "ERROR", server.get("fault")
        time.sleep(0.1)
    raise AssertionError(f"server {server_id} stayed {server.get('status')}/{server.get('OS-EXT-STS:task_state')}, not {status}")


def wait_gone(client: ServiceClient, server_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"/servers/{server_id}").status_code == 404:
            return
        time.sleep(0.1)
    raise AssertionError(f"server {server_id} was not deleted")
