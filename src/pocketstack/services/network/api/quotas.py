"""/v2.0/quotas: every project with its own limits (admins), one project's limits,
their defaults and their usage (/details); admins change and reset them."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from ..backend import quotas as backend
from ..common.authorize import authorize, owner_target
from ..schemas.quotas import parse_limits

api = ApiRouter(neutron_fault)


def _with_owner(project_id: str, limits: dict[str, Any]) -> dict[str, Any]:
    return {**limits, "project_id": project_id, "tenant_id": project_id}


@api.route("GET", "/v2.0/quotas")
def list_quotas(call: Call) -> dict[str, Any]:
    call.require_auth()
    projects = backend.projects_with_limits(call.db)
    visible = [project_id for project_id in projects if call.allowed("get_quota", owner_target(project_id))]
    return {"quotas": [_with_owner(project_id, backend.limits(call.db, project_id)) for project_id in visible]}


@api.route("GET", "/v2.0/quotas/{project_id}")
def show_quota(call: Call) -> dict[str, Any]:
    project_id = call.params["project_id"]
    authorize(call, "get_quota", owner_target(project_id))
    return {"quota": backend.limits(call.db, project_id)}


@api.route("GET", "/v2.0/quotas/{project_id}/default")
def show_default_quota(call: Call) -> dict[str, Any]:
    project_id = call.params["project_id"]
    authorize(call, "get_quota", owner_target(project_id))
    return {"quota": _with_owner(project_id, dict(backend.DEFAULTS))}


@api.route("GET", "/v2.0/quotas/{project_id}/details")
def show_quota_details(call: Call) -> dict[str, Any]:
    project_id = call.params["project_id"]
    authorize(call, "get_quota", owner_target(project_id))
    return {"quota": backend.details(call.db, project_id)}


@api.route("PUT", "/v2.0/quotas/{project_id}")
def update_quota(call: Call) -> dict[str, Any]:
    project_id = call.params["project_id"]
    authorize(call, "update_quota", owner_target(project_id))
    limits, force = parse_limits(call.json(), list(backend.DEFAULTS))
    if not force:
        backend.check_not_below_usage(call.db, project_id, limits)
    return {"quota": backend.update(call.db, project_id, limits)}


@api.route("DELETE", "/v2.0/quotas/{project_id}", status=204)
def delete_quota(call: Call) -> None:
    project_id = call.params["project_id"]
    authorize(call, "delete_quota", owner_target(project_id))
    backend.reset(call.db, project_id)
