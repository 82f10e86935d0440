"""The metadata proxy (Neutron's neutron-metadata-proxy, in miniature): guests ask
http://169.254.169.254/ inside the DHCP namespace of their network (option 121 routes
the address to the DHCP port, which holds it); the proxy tells which server asks from the
request's source address and forwards the request to the compute metadata service with
Neutron's headers: X-Instance-ID and X-Instance-ID-Signature (HMAC-SHA256 of the id under
the secret both sides share) and X-Forwarded-For.

One proxy serves every namespace of this host from the agent's process: each listening
socket is made inside its namespace (a short-lived thread enters the namespace with
setns(2), makes the socket and leaves; the socket stays in that namespace for good), and
one thread accepts on all of them. A namespace that was removed and made again (its
inode changed) gets a new socket. When the agent dies its sockets die with it; the next
agent's first pass makes them again."""

from __future__ import annotations

import ctypes
import hashlib
import hmac
import http.server
import logging
import os
import selectors
import socket
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger("pocketstack.dataplane.metadata")

CLONE_NEWNET = 0x40000000
IP_FREEBIND = 15  # bind an address before it is on an interface
NETNS_DIR = "/run/netns"
UPSTREAM_TIMEOUT = 15.0
MAX_POST_BYTES = 64 << 10  # what a guest may post (its password: Nova takes at most 1020 bytes)
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


def sign(secret: str, instance_id: str) -> str:
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def socket_in_namespace(namespace: str, address: str, port: int) -> socket.socket:
    """A listening TCP socket inside `namespace` (made by a thread that enters it)."""
    made: dict[str, Any] = {}

    def enter_and_listen() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"{NETNS_DIR}/{namespace}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {namespace}")
            finally:
                os.close(fd)
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
            server.bind((address, port))
            server.listen(64)
            server.setblocking(False)
            made["socket"] = server
        except Exception as exc:  # handed to the caller's thread
            made["error"] = exc

    thread = threading.Thread(target=enter_and_listen, name=f"netns-{namespace}")
    thread.start()
    thread.join()
    if "error" in made:
        raise made["error"]
    return made["socket"]  # type: ignore[no-any-return]


def namespace_inode(namespace: str) -> int | None:
    try:
        return os.stat(f"{NETNS_DIR}/{namespace}").st_ino
    except OSError:
        return None


@dataclass
class Listener:
    socket: socket.socket
    inode: int | None
    address: str
    port: int
    instances: Mapping[str, str]  # guest address -> instance id


class MetadataProxy:
    def __init__(self, upstream: str, secret: str, workers: int = 8) -> None:
        self.upstream = upstream.rstrip("/")
        self.secret = secret
        self._listeners: dict[str, Listener] = {}
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._wakeup_read, self._wakeup_write = socket.socketpair()
        self._selector.register(self._wakeup_read, selectors.EVENT_READ, None)
        self._workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="metadata-proxy")
        self._http = httpx.Client(timeout=UPSTREAM_TIMEOUT)
        self._stopping = False
        self._thread = threading.Thread(target=self._accept_loop, name="metadata-proxy", daemon=True)
        self._thread.start()

    # -- what is served --------------------------------------------------------------------
    def serve(self, namespace: str, address: str, port: int, instances: Mapping[str, str]) -> None:
        """Listen on address:port in `namespace` (once), answering for `instances`."""
        inode = namespace_inode(namespace)
        with self._lock:
            current = self._listeners.get(namespace)
            if current is not None and current.inode == inode and (current.address, current.port) == (address, port):
                current.instances = dict(instances)
                return
        self.stop(namespace)
        listener = Listener(socket_in_namespace(namespace, address, port), inode, address, port, dict(instances))
        with self._lock:
            self._listeners[namespace] = listener
            self._selector.register(listener.socket, selectors.EVENT_READ, namespace)
        self._wakeup_write.send(b"x")

    def stop(self, namespace: str) -> None:
        with self._lock:
            listener = self._listeners.pop(namespace, None)
            if listener is not None:
                self._selector.unregister(listener.socket)
                listener.socket.close()

    def namespaces(self) -> set[str]:
        with self._lock:
            return set(self._listeners)

    def close(self) -> None:
        self._stopping = True
        self._wakeup_write.send(b"x")
        self._thread.join(5)
        for namespace in list(self._listeners):
            self.stop(namespace)
        self._workers.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    # -- serving -------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopping:
            for key, _ in self._selector.select(timeout=1.0):
                if key.data is None:
                    self._wakeup_read.recv(64)
                    continue
                try:
                    connection, peer = key.fileobj.accept()  # type: ignore[union-attr]
                except OSError:
                    continue
                connection.setblocking(True)
                connection.settimeout(UPSTREAM_TIMEOUT)
                self._workers.submit(self._handle, connection, peer, key.data)

    def _handle(self, connection: socket.socket, peer: tuple[str, int], namespace: str) -> None:
        try:
            _Handler(connection, peer, _Context(self, namespace))
        except Exception:
            log.exception("metadata request in %s failed", namespace)
        finally:
            connection.close()

    def instance_for(self, namespace: str, address: str) -> str | None:
        with self._lock:
            listener = self._listeners.get(namespace)
            return listener.instances.get(address) if listener else None

    def forward(self, method: str, path: str, instance_id: str, guest: str, body: bytes = b"") -> httpx.Response:
        headers = {"X-Instance-ID": instance_id, "X-Instance-ID-Signature": sign(self.secret, instance_id), "X-Forwarded-For": guest}
        return self._http.request(method, f"{self.upstream}{path}", headers=headers, content=body or None)


@dataclass
class _Context:
    """What a request handler needs: the proxy and the namespace the request came into."""

    proxy: MetadataProxy
    namespace: str


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Context  # type: ignore[assignment]
    protocol_version = "HTTP/1.0"
    server_version = "pocketstack-metadata-proxy"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._proxy("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._proxy("HEAD")

    def do_POST(self) -> None:  # noqa: N802 (a guest posts its encrypted password)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_POST_BYTES:
            self._reply(400, b"A body of at most 64 KiB with its Content-Length is expected.\n", "text/plain")
            return
        self._proxy("POST", self.rfile.read(length))

    def _proxy(self, method: str, body: bytes = b"") -> None:
        guest = self.client_address[0]
        instance_id = self.server.proxy.instance_for(self.server.namespace, guest)
        if instance_id is None:
            self._reply(404, b"No instance is known at this address.\n", "text/plain")
            return
        try:
            upstream = self.server.proxy.forward(method, self.path, instance_id, guest, body)
        except httpx.HTTPError as exc:
            log.warning("metadata for %s (%s): upstream failed: %s", instance_id, guest, exc)
            self._reply(502, b"The metadata service did not answer.\n", "text/plain")
            return
        self._reply(upstream.status_code, upstream.content, upstream.headers.get("content-type", "text/plain"))

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        log.debug("%s %s", self.server.namespace, format % args)
