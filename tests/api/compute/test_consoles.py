"""Remote consoles on the fake hypervisor: POST /servers/{id}/remote-consoles (2.6+), the
os-get*Console actions of 2.1-2.5, /os-console-auth-tokens (admins, 2.31+), and the
websocket proxy behind the console URL (noVNC's websockify endpoint).

The fake hypervisor's guests have no display, so this cloud runs in the test process
(uvicorn on a thread) where a test can give a guest one: a unix socket served by
FakeDisplay, which greets like a VNC server ("RFB 003.008\\n") and then echoes, so
bytes are seen crossing the proxy both ways. tests/e2e/test_vnc_console.py does the
same against QEMU's own VNC server.

Tokens are rows of compute_console_auth_tokens: they outlive an API restart, are purged once
expired and go with their server; the parts on their own run on SQLite and on PostgreSQL
(when the local server at POCKETSTACK_TEST_PG answers)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from sqlalchemy import func, select
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from pocketstack.app import build_app
from pocketstack.cli import run_bootstrap
from pocketstack.config import Settings
from pocketstack.core.db import Database
from pocketstack.migrations import upgrade
from pocketstack.services.compute.consoles import ConsoleTokens, delete_console_tokens, find_novnc, novnc_url
from pocketstack.services.compute.models import ConsoleAuthToken
from pocketstack.testing.server import free_port, read_rc
from pocketstack.testing.spec import ApiSpec, load_spec
from tests.conftest import (
    Identity,
    ServiceClient,
    admin_identity,
    cli_runner,
    login,
    make_project,
    make_user,
    migrated_database,
    project_member,
)

RFB_VERSION = b"RFB 003.008\n"
TINY = "1"


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


class InProcessCloud:
    """`pocketstack allinone` with the fake hypervisor, served from a thread of this process
    (quacks like LiveCloud for the shared helpers: url, data_dir, env()). A second one on the
    same data dir and port is the same cloud after a restart of its API."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            data_dir=data_dir,
            port=self.port,
            services=["identity", "image", "compute"],
            compute={"driver": "fake", "agent_interval": 0.5, "test_image": False},
            identity={"password_hash_rounds": 4},
        )
        self.app = build_app(self.settings)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="console-cloud", daemon=True)

    @property
    def compute(self) -> Any:
        return self.app.cloud.compute

    def start(self) -> InProcessCloud:
        upgrade(self.settings.effective_database_url)
        run_bootstrap(self.settings)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the in-process cloud did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def env(self, who: str = "admin") -> dict[str, str]:
        return read_rc(self.data_dir / f"keystonerc_{who}")


class FakeDisplay:
    """A VNC server's first words on a unix socket, then an echo; b"bye" makes it hang up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen()
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    @staticmethod
    def _session(conn: socket.socket) -> None:
        with conn:
            conn.sendall(RFB_VERSION)
            while data := conn.recv(4096):
                if data == b"bye":
                    return
                conn.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (a bare close would not)
        self.listener.close()
        self.path.unlink(missing_ok=True)
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessCloud]:
    live = InProcessCloud(tmp_path_factory.mktemp("console-cloud")).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def admin(cloud: InProcessCloud) -> Identity:
    return admin_identity(cloud)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def nova(admin: Identity) -> ServiceClient:
    return admin.service("/compute/v2.1")


@pytest.fixture(scope="module")
def member(cloud: InProcessCloud, admin: Identity) -> Callable[[str], ServiceClient]:
    """A new project with one user of `role` in it: that user's compute client."""

    def make(role: str = "member") -> ServiceClient:
        return project_member(cloud, admin, role)[2].service("/compute/v2.1")  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="module")
def image_id(nova: ServiceClient) -> str:
    return upload_image(nova)


def upload_image(nova: ServiceClient) -> str:
    glance = nova.service("/image")
    reply = glance.post(
        "/v2/images", json={"name": "console-boot", "disk_format": "raw", "container_format": "bare", "visibility": "public"}
    )
    assert reply.status_code == 201, reply.text
    uploaded = glance.put(
        f"/v2/images/{reply.json()['id']}/file", content=b"\0" * 65536, headers={"Content-Type": "application/octet-stream"}
    )
    assert uploaded.status_code == 204, uploaded.text
    return reply.json()["id"]


@pytest.fixture(scope="module")
def spec() -> ApiSpec | None:
    return load_spec("compute")


def wait_status(client: ServiceClient, server_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        server = client.get(f"/servers/{server_id}", headers=mv("latest")).json()["server"]
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return server
        assert time.monotonic() < deadline, f"server {server_id} stayed {server['status']}, not {status}"
        time.sleep(0.1)


@pytest.fixture
def boot(image_id: str) -> Iterator[Callable[..., str]]:
    """boot(client, name=...) -> the id of an ACTIVE (or `status`) server, deleted after the test."""
    made: list[tuple[ServiceClient, str]] = []

    def run(client: ServiceClient, name: str | None = None, status: str = "ACTIVE") -> str:
        body = {"name": name or f"vm-{uuid.uuid4().hex[:6]}", "imageRef": image_id, "flavorRef": TINY, "networks": "none"}
        reply = client.post("/servers", json={"server": body}, headers=mv("2.37"))
        assert reply.status_code == 202, reply.text
        server_id = reply.json()["server"]["id"]
        made.append((client, server_id))
        wait_status(client, server_id, status)
        return server_id

    yield run
    for client, server_id in made:
        client.delete(f"/servers/{server_id}")


@pytest.fixture(scope="module")
def owned(member: Callable[..., ServiceClient], image_id: str) -> Iterator[tuple[ServiceClient, str]]:
    """One ACTIVE server and its owner, for the requests refused before the hypervisor is asked."""
    owner = member()
    body = {"name": "console-shared", "imageRef": image_id, "flavorRef": TINY, "networks": "none"}
    reply = owner.post("/servers", json={"server": body}, headers=mv("2.37"))
    assert reply.status_code == 202, reply.text
    server_id = reply.json()["server"]["id"]
    wait_status(owner, server_id, "ACTIVE")
    yield owner, server_id
    owner.delete(f"/servers/{server_id}")


@pytest.fixture
def display(
    cloud: InProcessCloud, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], FakeDisplay]]:
    """display(server_id): the fake guest gets a VNC server (what the QEMU driver reports)."""
    driver = cloud.compute.driver
    ask_driver = driver.vnc_socket
    displays: dict[str, FakeDisplay] = {}

    def vnc_socket(server_id: str) -> Path | None:
        found = ask_driver(server_id)  # the fake's own answer first: GuestNotFound once it is gone
        return displays[server_id].path if server_id in displays else found

    monkeypatch.setattr(driver, "vnc_socket", vnc_socket)

    def give(server_id: str) -> FakeDisplay:
        displays[server_id] = FakeDisplay(tmp_path_factory.mktemp("vnc") / "vnc.sock")
        return displays[server_id]

    yield give
    for shown in displays.values():
        shown.close()


def remote_console(client: ServiceClient, server_id: str, version: str = "2.6", **spec: Any) -> Any:
    body = {"remote_console": {"protocol": "vnc", "type": "novnc", **spec}}
    return client.post(f"/servers/{server_id}/remote-consoles", json=body, headers=mv(version))


def websocket_url(console_url: str) -> str:
    """Where noVNC's page connects: ws://<the page's host>/<its `path` parameter>."""
    parts = urlsplit(console_url)
    return f"ws://{parts.netloc}/{parse_qs(parts.query)['path'][0]}"


def token_of(console_url: str) -> str:
    return parse_qs(urlsplit(websocket_url(console_url)).query)["token"][0]


def open_console(console_url: str, **options: Any) -> ClientConnection:
    return connect(websocket_url(console_url), open_timeout=10, **options)


def token_rows(cloud: InProcessCloud, **where: str) -> int:
    """How many console token rows match (token_hash=..., instance_uuid=...)."""
    with cloud.app.cloud.db.read() as db:
        return db.scalar(select(func.count()).select_from(ConsoleAuthToken).filter_by(**where)) or 0


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def refused_status(url: str, **options: Any) -> int:
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=10, **options)
    return refused.value.response.status_code


# -- the console URL and the proxy behind it --------------------------------------------------------
def test_remote_console_url_reaches_the_guest_display_through_the_proxy(
    cloud: InProcessCloud, member: Callable[..., ServiceClient], boot: Any, display: Any, spec: ApiSpec | None
) -> None:
    alice = member()
    server_id = boot(alice)
    shown = display(server_id)
    reply = remote_console(alice, server_id)
    assert reply.status_code == 200, reply.text
    console = reply.json()["remote_console"]
    assert set(console) == {"protocol", "type", "url"} and console["protocol"] == "vnc" and console["type"] == "novnc"
    assert console["url"].startswith(f"{cloud.url}/compute/vnc/vnc_lite.html?path=")
    assert websocket_url(console["url"]).startswith(f"ws://127.0.0.1:{cloud.port}/compute/vnc/websockify?token=")
    if spec is not None:
        spec.check("POST", f"/v2.1/servers/{server_id}/remote-consoles", 200, reply.json())

    # noVNC 1.x offers no subprotocol; older noVNC and Tempest offer "binary", which is chosen
    with open_console(console["url"], subprotocols=["binary"]) as ws:
        assert ws.subprotocol == "binary"
        assert ws.recv(timeout=10) == RFB_VERSION
        ws.send(b"RFB 003.008\n\x01")
        assert ws.recv(timeout=10) == b"RFB 003.008\n\x01"
    # the same URL serves again until the token expires (noVNC reconnects with it)
    with open_console(console["url"]) as ws:
        assert ws.subprotocol is None
        assert ws.recv(timeout=10) == RFB_VERSION
    assert shown.connections == 2


def test_guest_hanging_up_closes_the_browser_side_and_text_frames_are_refused(
    member: Callable[..., ServiceClient], boot: Any, display: Any
) -> None:
    alice = member()
    server_id = boot(alice)
    display(server_id)
    url = remote_console(alice, server_id).json()["remote_console"]["url"]
    with open_console(url) as ws:
        assert ws.recv(timeout=10) == RFB_VERSION
        ws.send(b"bye")  # the fake VNC server hangs up
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert ws.close_code == 1000
    with open_console(url) as ws:
        assert ws.recv(timeout=10) == RFB_VERSION
        ws.send("RFB is binary")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert ws.close_code == 1003


def test_the_stock_cli_gets_a_working_console_url(cloud: InProcessCloud, nova: ServiceClient, boot: Any, display: Any) -> None:
    server_id = boot(nova)
    display(server_id)
    osc = cli_runner(cloud)  # type: ignore[arg-type]
    shown = json.loads(osc("console", "url", "show", "--novnc", "-f", "json", server_id).stdout)
    assert shown["type"] == "novnc"
    with open_console(shown["url"]) as ws:
        assert ws.recv(timeout=10) == RFB_VERSION
    connection = json.loads(osc("console", "connection", "show", "-f", "json", token_of(shown["url"])).stdout)
    assert connection["instance_uuid"] == server_id and connection["port"] == 0


@pytest.mark.skipif(find_novnc() is None, reason="noVNC's pages are not installed (Debian: novnc; scripts/setup installs it)")
def test_the_console_url_opens_novncs_page(member: Callable[..., ServiceClient], boot: Any, display: Any, nova: ServiceClient) -> None:
    alice = member()
    server_id = boot(alice)
    display(server_id)
    url = remote_console(alice, server_id).json()["remote_console"]["url"]
    page = nova.http.get(url)  # no token needed for the page: the websocket is what the token opens
    # what Tempest's validate_novnc_html looks for
    assert page.status_code == 200 and "noVNC" in page.text and "<script" in page.text and "</html>" in page.text
    assert nova.http.get(url.split("?")[0].replace("vnc_lite.html", "core/rfb.js")).status_code == 200
    assert nova.http.get(url.split("?")[0].replace("vnc_lite.html", "no-such-file.js")).status_code == 404


# -- the proxy refuses --------------------------------------------------------------------------------------
def test_proxy_refuses_missing_wrong_expired_and_foreign_origin_tokens(
    cloud: InProcessCloud,
    member: Callable[..., ServiceClient],
    boot: Any,
    display: Any,
    nova: ServiceClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = member()
    server_id = boot(alice)
    shown = display(server_id)
    url = remote_console(alice, server_id).json()["remote_console"]["url"]
    ws_url = websocket_url(url)
    token = token_of(url)
    base = ws_url.split("?")[0]
    assert refused_status(base) == 403
    assert refused_status(f"{base}?token=") == 403
    assert refused_status(ws_url.replace(f"token={token}", f"token=bad{token}")) == 403
    assert refused_status(ws_url, additional_headers={"Origin": "http://evil.example.org"}) == 403
    # a page of this cloud's own host may open it
    with connect(ws_url, open_timeout=10, additional_headers={"Origin": f"http://127.0.0.1:{cloud.port}"}) as ws:
        assert ws.recv(timeout=10) == RFB_VERSION
    # older noVNC sent the token as a cookie
    with connect(base, open_timeout=10, additional_headers={"Cookie": f"token={token}"}) as ws:
        assert ws.recv(timeout=10) == RFB_VERSION
    assert shown.connections == 2

    # Nova's token_ttl later, the token opens nothing and shows nothing
    tokens = cloud.compute.consoles.tokens
    monkeypatch.setattr(tokens, "clock", lambda: time.time() + tokens.ttl + 1)
    assert refused_status(ws_url) == 403
    assert nova.get(f"/os-console-auth-tokens/{token}", headers=mv("2.31")).status_code == 404
    assert shown.connections == 2
    # its row stays until the next token is issued, which purges it
    assert token_rows(cloud, token_hash=sha256(token)) == 1
    fresh = remote_console(alice, server_id).json()["remote_console"]["url"]
    assert token_rows(cloud, token_hash=sha256(token)) == 0 and token_rows(cloud, token_hash=sha256(token_of(fresh))) == 1


def test_a_deleted_servers_tokens_are_gone(
    cloud: InProcessCloud, member: Callable[..., ServiceClient], boot: Any, display: Any, nova: ServiceClient
) -> None:
    alice = member()
    server_id = boot(alice)
    display(server_id)
    urls = [remote_console(alice, server_id).json()["remote_console"]["url"] for _ in range(2)]
    assert token_rows(cloud, instance_uuid=server_id) == 2
    assert alice.delete(f"/servers/{server_id}").status_code == 204
    wait_gone(alice, server_id)
    # not only is the guest gone: the token itself is (Nova deletes an instance's tokens with it)
    assert token_rows(cloud, instance_uuid=server_id) == 0
    for url in urls:
        assert refused_status(websocket_url(url)) == 403
        assert nova.get(f"/os-console-auth-tokens/{token_of(url)}", headers=mv("2.31")).status_code == 404


def wait_gone(client: ServiceClient, server_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while client.get(f"/servers/{server_id}").status_code != 404:
        assert time.monotonic() < deadline, f"server {server_id} was not deleted"
        time.sleep(0.1)


def test_a_console_url_outlives_an_api_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The token is a row, not this process's memory: the API stopped and started again on the
    same data dir (and port) honours the URL it handed out before, until the server is deleted."""
    shown = FakeDisplay(tmp_path / "vnc.sock")
    data_dir = tmp_path / "cloud"
    data_dir.mkdir()
    before = InProcessCloud(data_dir).start()
    after: InProcessCloud | None = None
    try:
        nova = admin_identity(before).service("/compute/v2.1")  # type: ignore[arg-type]
        server_id = boot_server(nova, upload_image(nova))
        give_display(monkeypatch, before, server_id, shown)
        url = remote_console(nova, server_id).json()["remote_console"]["url"]
        token = token_of(url)
        with open_console(url) as ws:
            assert ws.recv(timeout=10) == RFB_VERSION
        before.stop()

        after = InProcessCloud(data_dir, port=before.port)
        # the fake hypervisor forgets its guests with the process; the display is still there
        give_display(monkeypatch, after, server_id, shown)
        after.start()
        nova = admin_identity(after).service("/compute/v2.1")  # type: ignore[arg-type]
        with open_console(url) as ws:
            assert ws.recv(timeout=10) == RFB_VERSION
        assert shown.connections == 2
        shown_token = nova.get(f"/os-console-auth-tokens/{token}", headers=mv("2.31"))
        assert shown_token.status_code == 200 and shown_token.json()["console"]["instance_uuid"] == server_id

        assert nova.delete(f"/servers/{server_id}").status_code == 204
        wait_gone(nova, server_id)
        assert refused_status(websocket_url(url)) == 403
        assert nova.get(f"/os-console-auth-tokens/{token}", headers=mv("2.31")).status_code == 404
    finally:
        for live in (before, after):
            if live is not None and live.thread.is_alive():
                live.stop()
        shown.close()


def boot_server(client: ServiceClient, image_id: str) -> str:
    body = {"name": f"vm-{uuid.uuid4().hex[:6]}", "imageRef": image_id, "flavorRef": TINY, "networks": "none"}
    reply = client.post("/servers", json={"server": body}, headers=mv("2.37"))
    assert reply.status_code == 202, reply.text
    server_id = reply.json()["server"]["id"]
    wait_status(client, server_id, "ACTIVE")
    return server_id


def give_display(monkeypatch: pytest.MonkeyPatch, cloud: InProcessCloud, server_id: str, shown: FakeDisplay) -> None:
    monkeypatch.setattr(cloud.compute.driver, "vnc_socket", lambda asked: shown.path if asked == server_id else None)


def test_tempest_style_handshakes(member: Callable[..., ServiceClient], boot: Any, display: Any) -> None:
    """Tempest's test_novnc speaks raw HTTP: the path from the URL's `path` parameter, a
    `binary` subprotocol, and for a bad token it wants the connection closed with no data."""
    alice = member()
    server_id = boot(alice)
    display(server_id)
    url = remote_console(alice, server_id).json()["remote_console"]["url"]
    parts = urlsplit(url)
    path = parse_qs(parts.query)["path"][0]

    def handshake(request_path: str) -> tuple[bytes, bytes]:
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
            conn.sendall(
                f"GET /{request_path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: binary\r\n\r\n".encode()
            )
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = conn.recv(4096)
                assert chunk, received
                received += chunk
            head, _, rest = received.partition(b"\r\n\r\n")
            while len(rest) < 14:  # a 12-byte frame has a 2-byte header; or the server hangs up
                chunk = conn.recv(4096)
                if not chunk:
                    break
                rest += chunk
            return head, rest

    head, first = handshake(path)
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols") and b"upgrade: websocket" in head.lower()
    assert first[0] == 0x82 and first[1] == len(RFB_VERSION) and first[2:14] == RFB_VERSION
    head, after = handshake(path.replace("token=", "token=bad"))
    assert head.startswith(b"HTTP/1.1 403") and after == b""


# -- microversions and the old actions -------------------------------------------------------------------
def test_legacy_get_vnc_console_action_until_2_5(member: Callable[..., ServiceClient], boot: Any, display: Any) -> None:
    alice = member()
    server_id = boot(alice)
    display(server_id)
    reply = alice.post(f"/servers/{server_id}/action", json={"os-getVNCConsole": {"type": "novnc"}}, headers=mv("2.5"))
    assert reply.status_code == 200, reply.text
    console = reply.json()["console"]
    assert set(console) == {"type", "url"} and console["type"] == "novnc"
    with open_console(console["url"]) as ws:
        assert ws.recv(timeout=10) == RFB_VERSION
    # no version header is 2.1
    assert alice.post(f"/servers/{server_id}/action", json={"os-getVNCConsole": {"type": "novnc"}}).status_code == 200
    # from 2.6 the action is gone (Nova: not found) and remote-consoles takes over
    assert alice.post(f"/servers/{server_id}/action", json={"os-getVNCConsole": {"type": "novnc"}}, headers=mv("2.6")).status_code == 404
    assert remote_console(alice, server_id, "2.5").status_code == 404
    assert remote_console(alice, server_id, "latest").status_code == 200


@pytest.mark.parametrize(
    ("version", "spec", "message"),
    [
        ("2.6", {"protocol": "spice", "type": "spice-html5"}, "Unavailable console type spice-html5."),
        ("2.6", {"protocol": "serial", "type": "serial"}, "Unavailable console type serial."),
        ("2.6", {"protocol": "rdp", "type": "rdp-html5"}, "Unavailable console type rdp."),
        ("2.6", {"protocol": "vnc", "type": "xvpvnc"}, "Invalid console type xvpvnc"),
        ("2.6", {"protocol": "vnc", "type": "spice-html5"}, "Invalid console type spice-html5"),
        ("2.6", {"protocol": "mks", "type": "webmks"}, "'mks' is not one of"),
        ("2.8", {"protocol": "mks", "type": "webmks"}, "Unavailable console type webmks."),
        ("2.6", {"protocol": "telnet"}, "'telnet' is not one of"),
        ("2.6", {"type": None}, "None is not one of"),
        ("2.6", {"colour": "green"}, "Additional properties are not allowed ('colour' was unexpected)"),
    ],
)
def test_remote_console_bad_requests(owned: tuple[ServiceClient, str], version: str, spec: dict[str, Any], message: str) -> None:
    alice, server_id = owned
    reply = remote_console(alice, server_id, version, **spec)
    assert reply.status_code == 400, reply.text
    assert message in reply.json()["badRequest"]["message"]


def test_remote_console_malformed_bodies(owned: tuple[ServiceClient, str]) -> None:
    alice, server_id = owned
    for body in ({}, {"remote_console": "vnc"}, {"remote_console": {"type": "novnc"}}, [1]):
        reply = alice.post(f"/servers/{server_id}/remote-consoles", json=body, headers=mv("2.6"))
        assert reply.status_code == 400, (body, reply.text)
    missing = alice.post(f"/servers/{server_id}/remote-consoles", json={"remote_console": {"type": "novnc"}}, headers=mv("2.6"))
    assert "'protocol' is a required property" in missing.json()["badRequest"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"os-getVNCConsole": {"type": "xvpvnc"}}, "Invalid console type xvpvnc"),
        ({"os-getVNCConsole": {}}, "'type' is a required property"),
        ({"os-getVNCConsole": {"type": "novnc", "extra": 1}}, "Additional properties are not allowed"),
        ({"os-getVNCConsole": None}, "is not of type 'object'"),
        ({"os-getSPICEConsole": {"type": "spice-html5"}}, "Unavailable console type spice-html5."),
        ({"os-getSerialConsole": {"type": "serial"}}, "Unavailable console type serial."),
        ({"os-getRDPConsole": {"type": "rdp-html5"}}, "Unavailable console type rdp-html5."),
    ],
)
def test_legacy_console_actions_refused(owned: tuple[ServiceClient, str], body: dict[str, Any], message: str) -> None:
    alice, server_id = owned
    reply = alice.post(f"/servers/{server_id}/action", json=body, headers=mv("2.1"))
    assert reply.status_code == 400, reply.text
    assert message in reply.json()["badRequest"]["message"]


# -- the server's state --------------------------------------------------------------------------------
def test_guest_without_display_stopped_or_failed_gets_novas_answers(member: Callable[..., ServiceClient], boot: Any) -> None:
    alice = member()
    server_id = boot(alice)
    # the fake hypervisor runs guests without a display: Nova's answer for a console the host cannot give
    reply = remote_console(alice, server_id)
    assert reply.status_code == 400 and reply.json()["badRequest"]["message"] == "Unavailable console type vnc."

    assert alice.post(f"/servers/{server_id}/action", json={"os-stop": None}).status_code == 202
    wait_status(alice, server_id, "SHUTOFF")
    stopped = remote_console(alice, server_id)
    assert stopped.status_code == 409 and f"Instance {server_id} is not ready" in stopped.json()["conflictingRequest"]["message"]

    failed = boot(alice, name="fake-fail-console", status="ERROR")  # the fake driver fails such spawns
    reply = remote_console(alice, failed)
    assert reply.status_code == 409 and f"Instance {failed} is not ready" in reply.json()["conflictingRequest"]["message"]


# -- who may ---------------------------------------------------------------------------------------------
def test_isolation_and_policy(member: Callable[..., ServiceClient], boot: Any, display: Any, nova: ServiceClient) -> None:
    alice, bob = member(), member()
    server_id = boot(alice)
    display(server_id)
    for version, call in (
        ("2.6", lambda c: remote_console(c, server_id)),
        ("2.1", lambda c: c.post(f"/servers/{server_id}/action", json={"os-getVNCConsole": {"type": "novnc"}}, headers=mv("2.1"))),
    ):
        reply = call(bob)
        assert reply.status_code == 404, (version, reply.text)
        assert reply.json()["itemNotFound"]["message"] == f"Instance {server_id} could not be found."
    assert remote_console(bob, str(uuid.uuid4())).status_code == 404
    assert remote_console(nova, server_id).status_code == 200  # the admin may
    unauthenticated = nova.http.post(
        f"{nova.base}/servers/{server_id}/remote-consoles", json={"remote_console": {"protocol": "vnc", "type": "novnc"}}, headers=mv("2.6")
    )
    assert unauthenticated.status_code == 401


def test_reader_role_may_not_open_a_console(cloud: InProcessCloud, admin: Identity, boot: Any, display: Any) -> None:
    """A project's reader may look at its servers, not open their consoles (Nova: member or admin)."""
    project = make_project(admin)
    owner, owner_password = make_user(admin, project["id"], "member")
    reader, reader_password = make_user(admin, project["id"], "reader")
    as_owner = login(cloud, owner, owner_password, project["id"]).service("/compute/v2.1")  # type: ignore[arg-type]
    as_reader = login(cloud, reader, reader_password, project["id"]).service("/compute/v2.1")  # type: ignore[arg-type]
    server_id = boot(as_owner)
    display(server_id)
    assert as_reader.get(f"/servers/{server_id}").status_code == 200
    refused = remote_console(as_reader, server_id)
    assert refused.status_code == 403, refused.text
    assert remote_console(as_owner, server_id).status_code == 200


# -- os-console-auth-tokens ---------------------------------------------------------------------------------
def test_console_auth_token_shows_its_connection_to_admins_only(
    cloud: InProcessCloud, member: Callable[..., ServiceClient], boot: Any, display: Any, nova: ServiceClient, spec: ApiSpec | None
) -> None:
    alice = member()
    server_id = boot(alice)
    shown = display(server_id)
    token = token_of(remote_console(alice, server_id).json()["remote_console"]["url"])
    reply = nova.get(f"/os-console-auth-tokens/{token}", headers=mv("2.31"))
    assert reply.status_code == 200, reply.text
    console = reply.json()["console"]
    assert console == {"instance_uuid": server_id, "host": console["host"], "port": 0, "internal_access_path": str(shown.path)}
    server = nova.get(f"/servers/{server_id}", headers=mv("latest")).json()["server"]
    assert console["host"] == server["OS-EXT-SRV-ATTR:host"]
    if spec is not None:
        spec.check("GET", f"/v2.1/os-console-auth-tokens/{token}", 200, reply.json())
    # before 2.31 the API served RDP consoles only, and those are gone: 400 whoever asks
    assert nova.get(f"/os-console-auth-tokens/{token}", headers=mv("2.30")).status_code == 400
    assert nova.get(f"/os-console-auth-tokens/{token}").status_code == 400
    refused = alice.get(f"/os-console-auth-tokens/{token}", headers=mv("2.31"))
    assert refused.status_code == 403, refused.text
    missing = nova.get(f"/os-console-auth-tokens/{uuid.uuid4().hex}", headers=mv("latest"))
    assert missing.status_code == 404 and missing.json()["itemNotFound"]["message"] == "Token not found"


# -- websockets elsewhere in the app ------------------------------------------------------------------
def test_websockets_on_other_paths_are_refused(cloud: InProcessCloud) -> None:
    base = f"ws://127.0.0.1:{cloud.port}"
    for path in ("/compute/v2.1/servers", "/compute/vnc/vnc_lite.html", "/compute/nothing", "/identity/v3", "/nowhere", "/"):
        status = refused_status(base + path)
        assert status in (403, 404), (path, status)


# -- the parts on their own ---------------------------------------------------------------------------
def test_console_url_keeps_a_public_url_path_prefix() -> None:
    """Behind a reverse proxy at /openstack, noVNC must open /openstack/compute/vnc/websockify."""
    url = novnc_url("https://cloud.example.org/openstack/compute", "tok-1")
    assert (
        url == "https://cloud.example.org/openstack/compute/vnc/vnc_lite.html?path=openstack%2Fcompute%2Fvnc%2Fwebsockify%3Ftoken%3Dtok-1"
    )
    assert websocket_url(url) == "ws://cloud.example.org/openstack/compute/vnc/websockify?token=tok-1"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as db:
        yield db


def stored_hashes(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(ConsoleAuthToken.token_hash)))


def test_tokens_expire_are_purged_and_are_kept_only_as_hashes(database: Database) -> None:
    now = [1000.0]
    tokens = ConsoleTokens(database, ttl=600, clock=lambda: now[0])
    token = tokens.issue("server-1", "novnc", "host-1", "/run/vnc.sock")
    other = tokens.issue("server-2", "novnc", "host-1", "/run/vnc2.sock")
    assert token != other and len(token) >= 40
    grant = tokens.validate(token)
    assert grant is not None and grant.expires == 1600.0
    assert (grant.instance_uuid, grant.console_type, grant.host, grant.internal_access_path) == (
        "server-1",
        "novnc",
        "host-1",
        "/run/vnc.sock",
    )
    assert tokens.validate("x" + token) is None
    assert sorted(stored_hashes(database)) == sorted([sha256(token), sha256(other)]), "only the tokens' SHA-256 are stored"
    now[0] = 1599.0
    assert tokens.validate(token) is not None
    now[0] = 1600.0
    assert tokens.validate(token) is None and tokens.validate(other) is None
    assert len(stored_hashes(database)) == 2, "validating reads; the next issue purges"
    kept = tokens.issue("server-3", "novnc", "host-1", "/run/vnc3.sock")
    assert stored_hashes(database) == [sha256(kept)], "expired rows are purged when a token is issued"


def test_tokens_are_shared_by_every_api_process_and_outlive_one(database: Database) -> None:
    """Two Database objects are two API processes (or one before and after a restart)."""
    token = ConsoleTokens(database).issue("server-1", "novnc", "host-1", "/run/vnc.sock")
    database.dispose()
    second = Database(database.url)
    try:
        grant = ConsoleTokens(second).validate(token)
        assert grant is not None and grant.instance_uuid == "server-1"
    finally:
        second.dispose()


def test_a_token_issued_in_a_transaction_lives_and_dies_with_it(database: Database) -> None:
    tokens = ConsoleTokens(database)
    with database.write() as s:
        committed = tokens.issue("server-1", "novnc", "host-1", "/run/vnc.sock", session=s)
    with pytest.raises(RuntimeError), database.write() as s:
        rolled_back = tokens.issue("server-1", "novnc", "host-1", "/run/vnc.sock", session=s)
        raise RuntimeError("the request failed after the token was made")
    assert tokens.validate(committed) is not None and tokens.validate(rolled_back) is None


def test_deleting_a_servers_tokens_leaves_the_others(database: Database) -> None:
    tokens = ConsoleTokens(database)
    doomed = [tokens.issue("server-1", "novnc", "host-1", "/run/vnc.sock") for _ in range(2)]
    kept = tokens.issue("server-2", "novnc", "host-1", "/run/vnc2.sock")
    with database.write() as s:
        delete_console_tokens(s, "server-1")
    assert [tokens.validate(t) for t in doomed] == [None, None]
    assert tokens.validate(kept) is not None
