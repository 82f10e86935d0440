"""/v3/registered_limits, /v3/limits and /v3/limits/model (the flat model)."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import keystone_fault

from ..backend import limits as backend
from ..models import Limit
from ..schemas.misc import LimitsCreate, LimitUpdate, RegisteredLimitsCreate, RegisteredLimitUpdate
from ..views import misc as views
from ..views.common import collection

api = ApiRouter(keystone_fault)


def _filters(call: Call, names: tuple[str, ...]) -> dict[str, str | None]:
    return {name: call.query.get(name) for name in names}


# -- registered limits ----------------------------------------------------------------


@api.route("POST", "/v3/registered_limits", status=201)
def create_registered_limits(call: Call) -> dict[str, Any]:
    call.authorize("identity:create_registered_limits")
    body = call.body(RegisteredLimitsCreate)
    rows = backend.create_registered_limits(call.db, body.registered_limits)
    return {"registered_limits": [views.registered_limit(call, r) for r in rows]}


@api.route("GET", "/v3/registered_limits")
def list_registered_limits(call: Call) -> dict[str, Any]:
    call.authorize("identity:list_registered_limits")
    rows = backend.list_registered_limits(call.db, _filters(call, backend.REGISTERED_FILTERS))
    return collection(call, "registered_limits", [views.registered_limit(call, r) for r in rows])


@api.route("GET", "/v3/registered_limits/{limit_id}")
def show_registered_limit(call: Call) -> dict[str, Any]:
    call.authorize("identity:get_registered_limit")
    row = backend.get_registered_limit(call.db, call.params["limit_id"])
    return {"registered_limit": views.registered_limit(call, row)}


@api.route("PATCH", "/v3/registered_limits/{limit_id}")
def update_registered_limit(call: Call) -> dict[str, Any]:
    call.authorize("identity:update_registered_limit")
    body = call.body(RegisteredLimitUpdate, "registered_limit")
    row = backend.update_registered_limit(call.db, call.params["limit_id"], body)
    return {"registered_limit": views.registered_limit(call, row)}


@api.route("DELETE", "/v3/registered_limits/{limit_id}")
def delete_registered_limit(call: Call) -> None:
    call.authorize("identity:delete_registered_limit")
    backend.delete_registered_limit(call.db, call.params["limit_id"])


# -- limits ---------------------------------------------------------------------------


@api.route("GET", "/v3/limits/model")
def show_limit_model(call: Call) -> dict[str, Any]:
    call.authorize("identity:get_limit_model")
    return {"model": dict(backend.MODEL)}


@api.route("POST", "/v3/limits", status=201)
def create_limits(call: Call) -> dict[str, Any]:
    call.authorize("identity:create_limits")
    body = call.body(LimitsCreate)
    return {"limits": [views.limit(call, r) for r in backend.create_limits(call.db, body.limits)]}


@api.route("GET", "/v3/limits")
def list_limits(call: Call) -> dict[str, Any]:
    call.authorize("identity:list_limits")
    rows = _visible(call, backend.list_limits(call.db, _filters(call, backend.LIMIT_FILTERS)))
    return collection(call, "limits", [views.limit(call, r) for r in rows])


def _visible(call: Call, rows: list[Limit]) -> list[Limit]:
    """Admins see every limit; a domain-scoped caller its domain's, a project-scoped one its project's."""
    ctx = call.ctx
    if ctx.system_scope or {"admin", "service"} & ctx.roles:
        return rows
    if ctx.domain_id:
        projects = backend.projects_in_domain(call.db, ctx.domain_id)
        return [r for r in rows if r.project_id in projects or r.domain_id == ctx.domain_id]
    if ctx.project_id:
        return [r for r in rows if r.project_id == ctx.project_id]
    return []


@api.route("GET", "/v3/limits/{limit_id}")
def show_limit(call: Call) -> dict[str, Any]:
    row = call.db.get(Limit, call.params["limit_id"])
    target = {"limit": {"project_id": row.project_id, "domain_id": row.domain_id}} if row else {}
    call.authorize("identity:get_limit", target)
    return {"limit": views.limit(call, backend.get_limit(call.db, call.params["limit_id"]))}


@api.route("PATCH", "/v3/limits/{limit_id}")
def update_limit(call: Call) -> dict[str, Any]:
    call.authorize("identity:update_limit")
    body = call.body(LimitUpdate, "limit")
    return {"limit": views.limit(call, backend.update_limit(call.db, call.params["limit_id"], body))}


@api.route("DELETE", "/v3/limits/{limit_id}")
def delete_limit(call: Call) -> None:
    call.authorize("identity:delete_limit")
    backend.delete_limit(call.db, call.params["limit_id"])
