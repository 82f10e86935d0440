"""The browser console of a real QEMU guest, as a user reaches it: `openstack console url show`
gives a noVNC URL; through the websocket proxy behind it, QEMU's own VNC server goes through
the RFB opening Tempest's test_novnc checks (protocol version, security type None, the
server's init message) and sends a piece of the guest's screen; `openstack console connection
show` names the guest; once the server is stopped its token opens nothing and a new URL is
refused (409)."""

from __future__ import annotations

import json
import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from pocketstack.config import default_guest_image_cache
from pocketstack.services.compute.consoles import find_novnc
from pocketstack.testing.server import LiveCloud
from tests.conftest import cli_runner
from tests.e2e.conftest import needs_qemu

pytestmark = needs_qemu

BOOT_TIMEOUT = 180.0  # TCG on two shared cores


@pytest.fixture(scope="module")
def qemu_cloud(tmp_path_factory: pytest.TempPathFactory, guest_image: Path) -> Iterator[LiveCloud]:
    env = {
        "POCKETSTACK_SERVICES": json.dumps(["identity", "image", "compute"]),
        "POCKETSTACK_COMPUTE__DRIVER": "qemu",
        "POCKETSTACK_COMPUTE__TEST_IMAGE": "true",
        "POCKETSTACK_COMPUTE__GUEST_IMAGE_CACHE": str(default_guest_image_cache()),
        "POCKETSTACK_COMPUTE__SHUTDOWN_TIMEOUT": "10",
    }
    with LiveCloud(tmp_path_factory.mktemp("vnc-cloud"), extra_env=env) as live:
        yield live


def wait_status(osc: Any, name: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + BOOT_TIMEOUT
    while True:
        server = json.loads(osc("server", "show", name, "-f", "json").stdout)
        if server["status"] == status and not server.get("OS-EXT-STS:task_state"):
            return server
        assert server["status"] != "ERROR", server.get("fault")
        assert time.monotonic() < deadline, f"{name} stayed {server['status']}, not {status}"
        time.sleep(1)


def websocket_url(console_url: str) -> str:
    parts = urlsplit(console_url)
    return f"ws://{parts.netloc}/{parse_qs(parts.query)['path'][0]}"


class RfbStream:
    """RFB messages arrive in websocket frames cut wherever the proxy's reads fell: read by bytes."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.buffer = b""

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            frame = self.ws.recv(timeout=30)
            assert isinstance(frame, bytes), f"a text frame: {frame!r}"
            self.buffer += frame
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out


def rfb_opening(ws: ClientConnection) -> tuple[int, int, str]:
    """Version, security None, init (Tempest's validate_rfb_negotiation, then a screen update):
    the framebuffer's width, height and desktop name."""
    rfb = RfbStream(ws)
    assert rfb.read(12) == b"RFB 003.008\n"
    ws.send(b"RFB 003.008\n")
    count = rfb.read(1)[0]
    assert 1 in rfb.read(count), "QEMU's VNC server offers no security type None"
    ws.send(bytes([1]))
    assert rfb.read(4) == b"\0\0\0\0", "security handshake failed"
    ws.send(bytes([1]))  # ClientInit: share the desktop
    width, height = struct.unpack(">HH", rfb.read(4))
    rfb.read(16)  # pixel format
    (name_length,) = struct.unpack(">I", rfb.read(4))
    name = rfb.read(name_length).decode()
    # FramebufferUpdateRequest (not incremental) for the top-left 8x8: a FramebufferUpdate comes back
    ws.send(struct.pack(">BBHHHH", 3, 0, 0, 0, 8, 8))
    message_type, _, rectangles = struct.unpack(">BBH", rfb.read(4))
    assert message_type == 0 and rectangles >= 1
    return width, height, name


def test_novnc_console_of_a_qemu_guest(qemu_cloud: LiveCloud) -> None:
    osc = cli_runner(qemu_cloud)
    name = f"vnc-{uuid.uuid4().hex[:6]}"
    osc("server", "create", "--image", "pocketstack-test-guest", "--flavor", "m1.nano", "--no-network", name)
    try:
        server_id = wait_status(osc, name, "ACTIVE")["id"]
        console = json.loads(osc("console", "url", "show", "--novnc", "-f", "json", name).stdout)
        assert console["type"] == "novnc" and console["url"].startswith(f"{qemu_cloud.url}/compute/vnc/vnc_lite.html?path=")
        ws_url = websocket_url(console["url"])
        with connect(ws_url, subprotocols=["binary"], open_timeout=10) as ws:
            width, height, desktop = rfb_opening(ws)
        assert width > 0 and height > 0 and desktop.startswith("QEMU"), (width, height, desktop)

        token = parse_qs(urlsplit(ws_url).query)["token"][0]
        connection = json.loads(osc("console", "connection", "show", "-f", "json", token).stdout)
        assert connection["instance_uuid"] == server_id
        assert connection["internal_access_path"].startswith(str(qemu_cloud.data_dir / "compute" / "instances" / server_id))
        if find_novnc() is not None:
            page = httpx.get(console["url"], timeout=30)
            assert page.status_code == 200 and "noVNC" in page.text and "<script" in page.text

        osc("server", "stop", name)
        wait_status(osc, name, "SHUTOFF")
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url, open_timeout=10)
        assert refused.value.response.status_code == 403
        stopped = osc("console", "url", "show", "--novnc", name, check=False)
        assert stopped.returncode != 0 and "not ready" in stopped.stderr, stopped.stderr
    finally:
        osc("server", "delete", "--wait", name, check=False)
    instances = qemu_cloud.data_dir / "compute" / "instances"
    assert not instances.exists() or not any(instances.iterdir()), "the deleted guest left files (or a running QEMU) behind"
