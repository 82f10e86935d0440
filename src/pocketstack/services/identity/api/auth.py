"""/v3/auth/*: issue, validate and revoke tokens; the caller's catalog, projects, domains."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, NotFound, keystone_fault

from ..backend import auth as backend
from ..views import auth as views
from ..views.common import links
from .domains import domain_view
from .projects import project_view

api = ApiRouter(keystone_fault)


def _service(call: Call) -> Any:
    return call.cloud.identity


@api.route("POST", "/v3/auth/tokens", status=201, tx="read")
def issue_token(call: Call) -> Response:
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("auth"), dict):
        raise BadRequest("Invalid input for field 'auth': it is a required object.")
    data = _service(call).tokens.issue(call.db, body["auth"])
    return JSONResponse(views.token(data, _catalog_for(call, data)), status_code=201, headers={"X-Subject-Token": data.token})


def _catalog_for(call: Call, data: backend.TokenData) -> list[dict[str, Any]] | None:
    """The token's catalog (filtered for its project), unless ?nocatalog was asked."""
    if call.query_flag("nocatalog"):
        return None
    project_id = data.project["id"] if data.project else None
    return _service(call).catalog(project_id, data.user["id"])


def _subject(call: Call, *, allow_expired: bool = False) -> backend.TokenData:
    subject = call.request.headers.get("x-subject-token")
    if not subject:
        raise BadRequest("The X-Subject-Token header is required.")
    try:
        return _service(call).tokens.validate(subject, allow_expired=allow_expired)
    except NotFound:
        raise NotFound(f"Could not find token: {subject[:8]}...") from None


def _validated(call: Call, data: backend.TokenData) -> Response:
    call.authorize("identity:validate_token", {"token": {"user_id": data.user["id"]}})
    return JSONResponse(views.token(data, _catalog_for(call, data)), headers={"X-Subject-Token": data.token})


def validate_cached_token(call: Call) -> Response | None:
    """The hot path: a token validated moment ago is answered from the cache alone."""
    subject = call.request.headers.get("x-subject-token")
    if not call.ctx.authenticated or not subject or call.query_flag("allow_expired"):
        return None
    data = _service(call).tokens.cache.get(subject)
    return None if data is None else _validated(call, data)


@api.route("GET", "/v3/auth/tokens", tx="none", fast=validate_cached_token)
def validate_token(call: Call) -> Response:
    call.require_auth()
    return _validated(call, _subject(call, allow_expired=call.query_flag("allow_expired")))


@api.route("DELETE", "/v3/auth/tokens", tx="write")
def revoke_token(call: Call) -> None:
    call.require_auth()
    data = _subject(call)
    call.authorize("identity:revoke_token", {"token": {"user_id": data.user["id"]}})
    _service(call).tokens.revoke(call.db, audit_id=data.payload.audit_ids[0])


@api.route("GET", "/v3/auth/catalog", tx="none")
def auth_catalog(call: Call) -> dict[str, Any]:
    ctx = call.require_auth()
    call.authorize("identity:get_auth_catalog")
    if ctx.scope_type is None:
        raise BadRequest("The service catalog is only available with a scoped token.")
    return {"catalog": _service(call).catalog(ctx.project_id, ctx.user_id), "links": links(call, "/v3/auth/catalog")}


@api.route("GET", "/v3/auth/projects")
def auth_projects(call: Call) -> dict[str, Any]:
    ctx = call.require_auth()
    call.authorize("identity:get_auth_projects")
    projects = backend.accessible_projects(call.db, ctx.user_id or "")
    return {"projects": [project_view(call, p) for p in projects], "links": links(call, "/v3/auth/projects")}


@api.route("GET", "/v3/auth/domains")
def auth_domains(call: Call) -> dict[str, Any]:
    ctx = call.require_auth()
    call.authorize("identity:get_auth_domains")
    domains = backend.accessible_domains(call.db, ctx.user_id or "")
    return {"domains": [domain_view(call, d) for d in domains], "links": links(call, "/v3/auth/domains")}


@api.route("GET", "/v3/auth/system")
def auth_system(call: Call) -> dict[str, Any]:
    ctx = call.require_auth()
    call.authorize("identity:get_auth_system")
    has_system = bool(backend.effective_roles(call.db, ctx.user_id or "", system=True))
    return {"system": [{"all": True}] if has_system else [], "links": links(call, "/v3/auth/system")}
