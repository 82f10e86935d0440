"""Clients for the image API: the admin, and fresh projects with a member user each."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pocketstack.testing.server import LiveCloud
from tests.conftest import Identity, ServiceClient, project_member

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTET = {"Content-Type": "application/octet-stream"}


@dataclass
class Tenant:
    """A project with one user in it, and that user's image client."""

    project: dict[str, Any]
    user: dict[str, Any]
    identity: Identity
    image: ServiceClient

    @property
    def project_id(self) -> str:
        return str(self.project["id"])


def make_tenant(cloud: LiveCloud, admin: Identity, role: str = "member") -> Tenant:
    project, user, identity = project_member(cloud, admin, role)
    return Tenant(project, user, identity, identity.service("/image"))


@pytest.fixture(scope="session")
def glance(admin: Identity) -> ServiceClient:
    """The admin on the image service."""
    return admin.service("/image")


@pytest.fixture(scope="session")
def tenant(cloud: LiveCloud, admin: Identity) -> Callable[..., Tenant]:
    return lambda role="member": make_tenant(cloud, admin, role)


@pytest.fixture(scope="session")
def alice(cloud: LiveCloud, admin: Identity) -> Tenant:
    return make_tenant(cloud, admin)


@pytest.fixture(scope="session")
def bob(cloud: LiveCloud, admin: Identity) -> Tenant:
    return make_tenant(cloud, admin)


def create_image(client: ServiceClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "img", "disk_format": "raw", "container_format": "bare", **fields}
    reply = client.post("/v2/images", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def upload(client: ServiceClient, image_id: str, data: bytes, **headers: str) -> httpx.Response:
    return client.put(f"/v2/images/{image_id}/file", content=data, headers={**OCTET, **headers})


@contextlib.contextmanager
def partial_upload(cloud: LiveCloud, token: str, image_id: str, announced: int, sent: int) -> Iterator[socket.socket]:
    """A PUT /file that announces `announced` bytes and sends only `sent`; the connection
    stays open inside the block and is dropped when it ends (unless the server went first)."""
    host, port = cloud.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = (
            f"PUT /image/v2/images/{image_id}/file HTTP/1.1\r\nHost: {host}\r\nX-Auth-Token: {token}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {announced}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"x" * sent)
        yield sock


def wait_task(client: ServiceClient, image_id: str, timeout: float = 30) -> dict[str, Any]:
    """The newest task of an image, once it has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = client.get(f"/v2/images/{image_id}/tasks").json()["tasks"]
        if tasks and tasks[0]["status"] not in ("pending", "processing"):
            return dict(tasks[0])
        time.sleep(0.1)
    raise AssertionError(f"the task of image {image_id} did not finish")


def patch(client: ServiceClient, image_id: str, ops: list[dict[str, Any]]) -> httpx.Response:
    return client.patch(f"/v2/images/{image_id}", json=ops, headers=PATCH)


@pytest.fixture()
def web_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on loopback serving tmp_path."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kw)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()
