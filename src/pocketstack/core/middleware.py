"""The one middleware every request passes: request id, token -> context, access log.

Token validation is delegated to a `TokenValidator` (the identity service provides it);
a cached token is resolved on the event loop without a thread hop, a cache miss goes to
a worker thread because it reads the database.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import replace
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .context import RequestContext

access_log = logging.getLogger("pocketstack.access")


class TokenValidator(Protocol):
    def cached(self, token: str) -> RequestContext | None: ...

    def context_for(self, token: str, request_id: str) -> RequestContext | None: ...


class RequestMiddleware:
    def __init__(self, app: ASGIApp, validator: TokenValidator, www_authenticate: str) -> None:
        self.app = app
        self.validator = validator
        self.www_authenticate = www_authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = "req-" + str(uuid.uuid4())
        ctx = await self._context(scope, request_id)
        scope.setdefault("state", {})["context"] = ctx
        status_holder: dict[str, int] = {}
        rid_header = (b"x-openstack-request-id", request_id.encode())

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append(rid_header)
                if message["status"] == 401:
                    headers.append((b"www-authenticate", self.www_authenticate.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._log(scope, ctx, status_holder.get("status", 500), started)

    async def _context(self, scope: Scope, request_id: str) -> RequestContext:
        token = _header(scope, b"x-auth-token")
        if not token:
            return RequestContext(request_id=request_id)
        ctx = self.validator.cached(token)
        if ctx is None:
            ctx = await run_in_threadpool(self.validator.context_for, token, request_id)
        if ctx is None:
            return RequestContext(request_id=request_id)
        # the cached context carries the request id of its first use; give it ours
        return replace(ctx, request_id=request_id)

    @staticmethod
    def _log(scope: Scope, ctx: RequestContext, status: int, started: float) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        path = scope.get("path", "")
        # query strings can carry secrets (temp URLs, ec2 signatures): log the path only
        access_log.info(
            '%s %s %s %.1fms %s user=%s project=%s',
            scope.get("method"), path, status, elapsed_ms, ctx.request_id,
            ctx.user_id or "-", ctx.project_id or "-",
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1").strip()
    return None
