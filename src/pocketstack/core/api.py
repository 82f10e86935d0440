"""The thin HTTP layer every service's `api.py` is written with.

    api = ApiRouter(render_fault=keystone_fault)

    @api.route("GET", "/v3/projects/{project_id}")
    def show_project(call: Call) -> dict:
        call.authorize("identity:get_project", {...})
        return {"project": views.project(call, backend.get_project(call.db, ...))}

A handler is a plain function run in a worker thread inside one database transaction
(`tx="write"` for the verbs that change state, `"read"` otherwise): it commits when the
handler returns and rolls back when it raises, so a failed request leaves nothing
half-written. It returns a JSON-able body, None (204 / empty), or a Response.
Faults raised anywhere are rendered in the service's own OpenStack error format.
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .context import RequestContext
from .faults import BadRequest, Conflict, Fault, FaultRenderer, MethodNotAllowed, NotFound, PayloadTooLarge, Unauthorized
from .microversions import Microversions, Version, VersionRange

log = logging.getLogger("pocketstack.api")
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
Handler = Callable[["Call"], Any]

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# where the negotiated microversion travels from the router to the Call, in scope["state"]
VERSION_STATE_KEY = "microversion"


class Call:
    """Everything a handler needs about one request."""

    def __init__(self, request: Request, body: bytes, db: Session | None) -> None:
        self.request = request
        self.raw_body = body
        self.db = db  # type: ignore[assignment]
        self.params: dict[str, str] = dict(request.path_params)
        self.query: QueryParams = request.query_params
        self.ctx: RequestContext = request.scope["state"]["context"]
        self.cloud: Any = request.app.state.cloud
        self.response_headers: dict[str, str] = {}
        # the microversion this request is served at; None for services without microversions
        self.version: Version | None = request.scope["state"].get(VERSION_STATE_KEY)

    async def transaction(self, work: Callable[[Session], T], *, write: bool = True) -> T:
        """For stream handlers: run work(db) on a worker thread inside one transaction."""

        def run() -> T:
            with self.cloud.db.session(write=write) as db:
                return work(db)

        try:
            return await run_in_threadpool(run)
        except IntegrityError:
            raise Conflict("The request conflicts with an existing resource (duplicate or still referenced).") from None

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this request's transaction has committed (file removal,
        wake-ups): never for a request that rolls back."""

        def run(_session: Session) -> None:
            try:
                action()
            except Exception:
                log.exception("after-commit action failed")

        event.listen(self.db, "after_commit", run, once=True)

    # -- identity of the caller -------------------------------------------------
    def require_auth(self) -> RequestContext:
        if not self.ctx.authenticated:
            raise Unauthorized("The request you have made requires authentication.")
        return self.ctx

    def authorize(self, rule: str, target: dict[str, Any] | None = None) -> None:
        self.cloud.enforcer.enforce(rule, self.ctx, target)

    def allowed(self, rule: str, target: dict[str, Any] | None = None) -> bool:
        return bool(self.cloud.enforcer.allowed(rule, self.ctx, target))

    # -- request body -----------------------------------------------------------
    def json(self) -> Any:
        if not self.raw_body.strip():
            raise BadRequest("The request body is empty; a JSON document is expected.")
        try:
            data = json.loads(self.raw_body, parse_constant=_no_constants)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply
            raise BadRequest(f"Malformed JSON in request body: {exc}") from None
        if b"\\u0000" in self.raw_body and _has_nul(data):
            raise BadRequest("NUL characters are not allowed in the request body.")
        return data

    def body(self, model: type[M], key: str | None = None) -> M:
        """Parse the body (or body[key]) into a pydantic model; 400 with the field named."""
        data = self.json()
        where = ""
        if key is not None:
            if not isinstance(data, dict) or key not in data:
                raise BadRequest(f"Invalid input: '{key}' is a required property.")
            data = data[key]
            where = key + "."
        return validate(model, data, where)

    # -- URLs -------------------------------------------------------------------
    @property
    def service_root(self) -> str:
        """Absolute URL of the service's mount point, e.g. http://host:5000/identity."""
        root = self.cloud.public_url + self.request.scope.get("root_path", "")
        return root.rstrip("/")

    def url(self, path: str) -> str:
        return self.service_root + path

    def query_bool(self, name: str) -> bool | None:
        raw = self.query.get(name)
        if raw is None:
            return None
        return raw.lower() not in ("0", "false", "no", "off")

    def query_flag(self, name: str) -> bool:
        """Keystone-style flag: present with no value or a true value means True."""
        if name not in self.query:
            return False
        raw = self.query.get(name, "")
        return raw == "" or raw.lower() not in ("0", "false", "no", "off")


def validate(model: type[M], data: Any, where: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(describe_validation_error(exc, where)) from None


def _no_constants(name: str) -> Any:
    """NaN and Infinity are not JSON: refuse them (they could never be sent back either)."""
    raise ValueError(f"{name} is not a valid JSON value")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def describe_validation_error(exc: ValidationError, where: str = "") -> str:
    problems = []
    for err in exc.errors()[:5]:
        loc = where + ".".join(str(p) for p in err["loc"]) if err["loc"] else where.rstrip(".") or "body"
        message = err["msg"].removeprefix("Value error, ")  # our own validators' words, without pydantic's prefix
        problems.append(f"Invalid input for field '{loc}': {message}")
    return "; ".join(problems)


@dataclass
class Operation:
    method: str
    path: str
    handler: Handler
    status: int
    tx: str  # "read", "write" or "none"
    # optional answer straight from memory, on the event loop (no thread, no database);
    # returns None when it cannot, and the handler runs as usual
    fast: Handler | None = None
    # an async handler that reads the body itself (call.request.stream()) and opens
    # its own transactions: uploads of any size, never held in memory
    stream: bool = False
    # the microversions this handler serves (None: all of them, or an unversioned service)
    versions: VersionRange | None = None


class ApiRouter:
    """A service's route table: (method, path) -> handler, rendered in its fault style."""

    def __init__(self, render_fault: FaultRenderer, after_write: Callable[[], None] | None = None) -> None:
        self.render_fault = render_fault
        self.operations: list[Operation] = []
        # called after every committed write (e.g. identity drops its token cache)
        self.after_write = after_write
        # set by a service that speaks microversions (compute, volume); None: no negotiation at all
        self.microversions: Microversions | None = None
        # a service's own name for the request id, sent beside x-openstack-request-id
        # (Nova's x-compute-request-id, which Tempest reads)
        self.request_id_header: str | None = None

    def route(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        tx: str | None = None,
        fast: Handler | None = None,
        stream: bool = False,
        min_version: str | None = None,
        max_version: str | None = None,
    ) -> Callable[[Handler], Handler]:
        versions = VersionRange(min_version, max_version) if min_version or max_version else None

        def register(handler: Handler) -> Handler:
            mode = "none" if stream else tx or ("write" if method in WRITE_METHODS else "read")
            self.operations.append(Operation(method, path, handler, status, mode, fast, stream, versions))
            return handler

        return register

    def include(self, other: ApiRouter) -> None:
        self.operations.extend(other.operations)

    def starlette_routes(self) -> list[Route]:
        """One Starlette Route per path, dispatching on method ourselves so that a
        wrong method gets a 405 in the service's own error format."""
        by_path: dict[str, dict[str, list[Operation]]] = {}
        for op in self.operations:
            self._check_versions(op, by_path.get(op.path, {}).get(op.method, []))
            by_path.setdefault(op.path, {}).setdefault(op.method, []).append(op)
        # static segments before parameters, so /v3/auth/tokens wins over /v3/auth/{x}
        ordered = sorted(by_path.items(), key=lambda kv: _route_sort_key(kv[0]))
        every = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return [Route(path, self._endpoint(ops), methods=every) for path, ops in ordered]

    def _check_versions(self, op: Operation, same_route: list[Operation]) -> None:
        """Mistakes in a route table fail at start-up, not on some request later."""
        if op.versions is not None and self.microversions is None:
            raise ValueError(f"{op.method} {op.path} declares a version range but its service has no microversions")
        for other in same_route:
            if (op.versions or VersionRange()).overlaps(other.versions or VersionRange()):
                raise ValueError(f"{op.method} {op.path} has two handlers for the same version ({other.versions}, {op.versions})")

    def _endpoint(self, ops: dict[str, list[Operation]]) -> Callable[[Request], Any]:
        allowed = sorted(set(ops) | ({"HEAD"} if "GET" in ops else set()))

        async def endpoint(request: Request) -> Response:
            response = await dispatch(request)
            if self.request_id_header:
                response.headers[self.request_id_header] = request.scope["state"]["context"].request_id
            return response

        async def dispatch(request: Request) -> Response:
            method = request.method
            candidates = ops.get(method) or (ops.get("GET", []) if method == "HEAD" else [])
            if not candidates:
                fault = MethodNotAllowed(f"The method {method} is not supported for this resource.")
                return self.render_fault(fault, {"Allow": ", ".join(allowed)})
            if self.microversions is None:
                return await self._serve(candidates[0], request)
            try:
                version = self.microversions.negotiate(request.headers)
            except Fault as fault:
                # no version was agreed on, so the answer names none (as Nova's)
                return self._finish(method, self.render_fault(fault, {}))
            request.scope["state"][VERSION_STATE_KEY] = version
            op = next((op for op in candidates if op.versions is None or version in op.versions), None)
            if op is None:
                # Nova: a method that does not exist at the requested version is not found
                response = self._finish(method, self.render_fault(NotFound("The resource could not be found."), {}))
            else:
                response = await self._serve(op, request)
            return self._mark_version(response, self.microversions, version)

        return endpoint

    @staticmethod
    def _mark_version(response: Response, microversions: Microversions, version: Version) -> Response:
        response.headers.update(microversions.response_headers(version))
        response.headers.add_vary_header(microversions.vary)
        return response

    async def _serve(self, op: Operation, request: Request) -> Response:
        method = request.method
        try:
            # no database stores NUL in text: refuse it before it gets there
            if "\x00" in request.url.path:
                raise NotFound("The resource could not be found.")
            if "%00" in request.url.query:
                raise BadRequest("NUL characters are not allowed in the query string.")
            if op.stream:
                call = Call(request, b"", None)
                result = await op.handler(call)
                return self._finish(method, to_response(result, op.status, call.response_headers))
            body = await read_body(request, request.app.state.cloud.settings.max_request_body)
            response = self._run_fast(op, request, body) if op.fast else None
            if response is None:
                response = await run_in_threadpool(self._run, op, request, body)
        except Fault as fault:
            response = self.render_fault(fault, {})
        except Exception:
            # a bug, not the caller's fault: log it whole, answer in the service's format
            log.exception("unhandled error in %s %s", method, request.url.path)
            response = self.render_fault(Fault("An unexpected error prevented the server from fulfilling your request."), {})
        return self._finish(method, response)

    @staticmethod
    def _finish(method: str, response: Response) -> Response:
        if method == "HEAD":
            response.body = b""
        return response

    def _run_fast(self, op: Operation, request: Request, body: bytes) -> Response | None:
        assert op.fast is not None
        call = Call(request, body, None)
        result = op.fast(call)
        return None if result is None else to_response(result, op.status, call.response_headers)

    def _run(self, op: Operation, request: Request, body: bytes) -> Response:
        cloud = request.app.state.cloud
        try:
            if op.tx == "none":
                call = Call(request, body, None)
                result = op.handler(call)
            else:
                with cloud.db.session(write=op.tx == "write") as db:
                    call = Call(request, body, db)
                    result = op.handler(call)
                if op.tx == "write" and self.after_write is not None:
                    self.after_write()
        except IntegrityError as exc:
            # the database enforces uniqueness; a race or a duplicate lands here
            log.info("integrity error on %s %s: %s", op.method, op.path, exc.orig)
            raise Conflict("The request conflicts with an existing resource (duplicate or still referenced).") from None
        return to_response(result, op.status, call.response_headers)


def to_response(result: Any, status: int, headers: dict[str, str]) -> Response:
    if isinstance(result, Response):
        result.headers.update(headers)
        return result
    if result is None:
        return Response(status_code=204 if status == 200 else status, headers=headers)
    return JSONResponse(result, status_code=status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def router_from_package(package: str, path: list[str], render_fault: FaultRenderer) -> ApiRouter:
    """One route table from every module of an `api` package that defines `api = ApiRouter(...)`."""
    router = ApiRouter(render_fault)
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        if isinstance(getattr(module, "api", None), ApiRouter):
            router.include(module.api)
    return router


def _route_sort_key(path: str) -> tuple[int, ...]:
    return tuple(1 if seg.startswith("{") else 0 for seg in path.split("/"))


def not_found_app(render_fault: FaultRenderer) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        response = render_fault(NotFound("The resource could not be found."), {})
        await response(scope, receive, send)

    return app
