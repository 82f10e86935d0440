"""Browser consoles (Nova's remote consoles and nova-novncproxy, in miniature): the API hands
out a console URL carrying a short-lived token; the URL opens noVNC's page, whose websocket
comes back to the proxy here, which checks the token and relays the bytes between the browser
and the guest's VNC server (a unix socket the hypervisor driver names).

Tokens live in the database (Nova's console_auth_tokens), not in this process: a restart
of the API keeps them, and any API process of the cloud honours a URL another one handed out
(a scaled-out cloud keeps its state in the one database). Only a SHA-256 of each token is
stored, as Nova stores it, so the table gives nobody a working URL. A token lasts Nova's
token_ttl (600 s); expired rows are purged whenever a token is issued, and a server's rows go
with the server, so its console URL stops working the moment its delete finishes.

The guest's socket is looked up again at every connection rather than remembered with the
token: a guest that stopped or was deleted since is refused, and a restarted one is found.
The socket is local, so the console of a server on another compute host cannot be reached
from this process (the scale-out case would need the proxy on that host).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketClose, WebSocketDisconnect, WebSocketState

from pocketstack.core.db import Database
from pocketstack.core.faults import BadRequest, Conflict
from pocketstack.drivers.compute.base import ComputeDriver, GuestNotFound, PowerState
from pocketstack.drivers.compute.qmp import connectable_socket_path

from . import states
from .models import ConsoleAuthToken, Server

log = logging.getLogger("pocketstack.compute.consoles")

TOKEN_TTL = 600.0  # seconds; Nova's [consoleauth] token_ttl
NOVNC = "novnc"  # the one console type served: a VNC display in noVNC
# under the service's prefix: noVNC's files and the websocket it opens
PAGES_PATH = "/vnc"
WEBSOCKET_PATH = "/vnc/websockify"
NOVNC_PAGE = "vnc_lite.html"  # connects at once from its URL, as Nova's novncproxy_base_url page does
# where distributions install noVNC's browser files (Debian and Ubuntu; Arch)
NOVNC_DIRECTORIES = (Path("/usr/share/novnc"), Path("/usr/share/webapps/novnc"))
CONNECT_TIMEOUT = 5.0
CHUNK = 64 * 1024
# noVNC before 1.0 (and Tempest's client) ask for the "binary" subprotocol; newer noVNC asks for none
SUBPROTOCOL = "binary"
POLICY_VIOLATION = 1008  # websocket close code for a refused token; before accept it becomes HTTP 403


@dataclass(frozen=True)
class ConsoleAuth:
    """What a token grants: one server's console, until `expires` (time.time())."""

    instance_uuid: str
    console_type: str
    host: str | None
    internal_access_path: str  # the guest's VNC socket when the token was issued
    expires: float


class ConsoleTokens:
    """Console tokens in the database, by hash, each until it expires. `clock` gives
    time.time()-style seconds (tests move it to expire tokens)."""

    def __init__(self, db: Database, ttl: float = TOKEN_TTL, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.ttl = ttl
        self.clock = clock

    def issue(
        self,
        instance_uuid: str,
        console_type: str,
        host: str | None,
        internal_access_path: str,
        *,
        session: Session | None = None,
    ) -> str:
        """A new token for the console. In `session` when given (a request's transaction:
        the token exists only if the request commits), else in a transaction of its own."""
        if session is None:
            with self.db.write() as own:
                return self.issue(instance_uuid, console_type, host, internal_access_path, session=own)
        token = secrets.token_urlsafe(32)
        now = self.clock()
        # purged here rather than by Nova's periodic task: the table holds little more than
        # one TTL's worth of tokens, so the scan is cheap
        session.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.expires <= _utc(now)))
        session.add(
            ConsoleAuthToken(
                token_hash=_digest(token),
                instance_uuid=instance_uuid,
                console_type=console_type,
                host=host,
                internal_access_path=internal_access_path,
                expires=_utc(now + self.ttl),
            )
        )
        session.flush()
        return token

    def validate(self, token: str) -> ConsoleAuth | None:
        """The grant of a live token; None for an unknown or expired one (Nova's
        get_by_hash: the hash, then the expiry; an expired row waits for the next purge)."""
        with self.db.read() as session:
            row = session.scalar(
                select(ConsoleAuthToken).where(ConsoleAuthToken.token_hash == _digest(token), ConsoleAuthToken.expires > _utc(self.clock()))
            )
            if row is None:
                return None
            return ConsoleAuth(row.instance_uuid, row.console_type, row.host, row.internal_access_path, row.expires.timestamp())


def delete_console_tokens(db: Session, instance_uuid: str) -> None:
    """Forget every token of a server (its delete finishing): its console URLs stop at once."""
    db.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.instance_uuid == instance_uuid))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


class Consoles:
    """This host's browser consoles: the checks before a URL is handed out, the tokens, and
    the routes (websocket proxy, noVNC's pages) the compute service adds to its mount."""

    def __init__(self, driver: ComputeDriver, db: Database, ttl: float = TOKEN_TTL, novnc_directory: Path | None = None) -> None:
        self.driver = driver
        self.tokens = ConsoleTokens(db, ttl)
        self.novnc_directory = novnc_directory or find_novnc()

    # -- the API's side ---------------------------------------------------------------------
    def console_url(self, db: Session, server: Server, protocol: str, console_type: str, service_root: str) -> str:
        """A URL to the server's console (a new token in it, written in the request's write
        transaction `db`), after Nova's checks in Nova's order: a host (409), no delete under
        way (409), the type (400), a running guest."""
        if not server.host:
            raise Conflict(f"Instance {server.uuid} is not ready")
        if server.task_state == states.DELETING:
            raise Conflict(f"Cannot 'get_{protocol}_console' instance {server.uuid} while it is in task_state {server.task_state}")
        if protocol != "vnc":
            # SPICE, serial and MKS consoles are not enabled on this cloud (Nova's [spice] enabled = False, ...)
            raise BadRequest(f"Unavailable console type {console_type}.")
        if console_type != NOVNC:
            raise BadRequest(f"Invalid console type {console_type}")
        vnc_socket = self._vnc_socket(server)
        token = self.tokens.issue(server.uuid, console_type, server.host, str(vnc_socket), session=db)
        return novnc_url(service_root, token)

    def _vnc_socket(self, server: Server) -> Path:
        try:
            vnc_socket = self.driver.vnc_socket(server.uuid)
            if vnc_socket is not None:
                return vnc_socket
            running = self.driver.power_state(server.uuid) in (PowerState.RUNNING, PowerState.PAUSED)
        except GuestNotFound:
            raise Conflict(f"Instance {server.uuid} is not ready") from None
        if running:
            # the hypervisor runs the guest without a display (the fake driver has none)
            raise BadRequest("Unavailable console type vnc.")
        raise Conflict(f"Instance {server.uuid} is not ready: the guest is not running")

    # -- the proxy's side -------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """The websocket proxy, and noVNC's pages when this machine has them (Debian's novnc)."""
        routes: list[BaseRoute] = [WebSocketRoute(WEBSOCKET_PATH, self.websockify)]
        if self.novnc_directory is not None:
            routes.append(Mount(PAGES_PATH, app=StaticPages(self.novnc_directory)))
        else:
            log.info("noVNC's pages are not installed (Debian: apt-get install novnc); console URLs work with any noVNC client")
        return routes

    async def websockify(self, websocket: WebSocket) -> None:
        """One console session: refuse (HTTP 403 before the handshake, as a bad token gets
        from nova-novncproxy) or relay bytes both ways until either side closes."""
        grant = await self._grant(websocket)
        if grant is None:
            await websocket.close(POLICY_VIOLATION)
            return
        streams = await self._connect_guest(grant.instance_uuid)
        if streams is None:
            await websocket.close(POLICY_VIOLATION)
            return
        reader, writer = streams
        offered = websocket.scope.get("subprotocols") or []
        started = time.monotonic()
        try:
            await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
            log.info("console of %s opened", grant.instance_uuid)
            await relay(websocket, reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            log.info("console of %s closed after %.0f s", grant.instance_uuid, time.monotonic() - started)

    async def _grant(self, websocket: WebSocket) -> ConsoleAuth | None:
        # the token travels in the query (noVNC 1.1+: path=...?token=) or, from older noVNC, a cookie
        token = websocket.query_params.get("token") or websocket.cookies.get("token")
        # a database read: on a worker thread, not on the event loop
        grant = await run_in_threadpool(self.tokens.validate, token) if token else None
        if grant is None:
            log.info("console refused: %s token", "an unknown or expired" if token else "no")
            return None
        if not origin_allowed(websocket):
            log.info("console of %s refused: Origin %r is not this cloud", grant.instance_uuid, websocket.headers.get("origin"))
            return None
        return grant

    async def _connect_guest(self, server_id: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            # the driver may read files and take its locks: not on the event loop
            vnc_socket = await run_in_threadpool(self.driver.vnc_socket, server_id)
        except GuestNotFound:
            vnc_socket = None
        if vnc_socket is None:
            log.info("console of %s refused: the guest has no VNC server now", server_id)
            return None
        try:
            with connectable_socket_path(vnc_socket) as address:
                return await asyncio.wait_for(asyncio.open_unix_connection(address), CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as error:
            log.info("console of %s refused: its VNC server does not answer (%s)", server_id, error)
            return None


async def relay(websocket: WebSocket, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Pump bytes both ways until one side is done, then end the other."""

    async def guest_to_browser() -> None:
        while data := await reader.read(CHUNK):
            await websocket.send_bytes(data)

    async def browser_to_guest() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                # RFB is binary; websockify's old base64 text mode is long gone from noVNC
                await websocket.close(1003, "binary frames only")
                return
            writer.write(data)
            await writer.drain()

    tasks = [asyncio.create_task(guest_to_browser()), asyncio.create_task(browser_to_guest())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, OSError, WebSocketDisconnect, RuntimeError):
                await task
    if websocket.application_state == WebSocketState.CONNECTED and websocket.client_state == WebSocketState.CONNECTED:
        # the guest's side ended (the guest stopped): tell the browser
        with contextlib.suppress(OSError, WebSocketDisconnect, RuntimeError):
            await websocket.close(1000)


def origin_allowed(websocket: WebSocket) -> bool:
    """A browser's page may open the console only from this cloud's own host (nova-novncproxy's
    Origin check); clients that send no Origin (not browsers) are let through."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = websocket.headers.get("host", "")
    return parts.hostname == urlsplit(f"//{host}").hostname


def novnc_url(service_root: str, token: str) -> str:
    """noVNC's page with the websocket's path (from the site's root, with the token) in its
    `path` parameter: vnc_lite.html opens ws(s)://<the page's host>/<path>."""
    websocket_path = urlsplit(service_root).path.strip("/") + WEBSOCKET_PATH
    return f"{service_root}{PAGES_PATH}/{NOVNC_PAGE}?" + urlencode({"path": f"{websocket_path.lstrip('/')}?token={token}"})


def find_novnc() -> Path | None:
    return next((d for d in NOVNC_DIRECTORIES if (d / NOVNC_PAGE).is_file()), None)


class StaticPages:
    """Files answered over HTTP: StaticFiles' misses (404, 405) rendered here, since this app has
    no exception middleware, and a websocket aimed at a file closed rather than crashing."""

    def __init__(self, directory: Path) -> None:
        self.files = StaticFiles(directory=directory)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
            return
        try:
            await self.files(scope, receive, send)
        except HTTPException as miss:
            await PlainTextResponse(miss.detail, miss.status_code, headers=miss.headers)(scope, receive, send)
