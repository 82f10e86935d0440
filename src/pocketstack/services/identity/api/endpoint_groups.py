"""OS-EP-FILTER: endpoint groups and the endpoints and groups tied to projects."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import keystone_fault

from ..backend import endpoint_groups as backend
from ..schemas.catalog import EndpointGroupCreate, EndpointGroupUpdate
from ..views import catalog as views
from ..views.common import collection
from .projects import project_view

api = ApiRouter(keystone_fault)

EP = "/v3/OS-EP-FILTER"
MANAGE = "identity:manage_endpoint_associations"
READ = "identity:list_endpoint_associations"


def _endpoints(call: Call, rows: list[Any]) -> dict[str, Any]:
    return collection(call, "endpoints", [views.endpoint(call, r) for r in rows])


def _projects(call: Call, rows: list[Any]) -> dict[str, Any]:
    return collection(call, "projects", [project_view(call, r) for r in rows])


# -- endpoint groups ------------------------------------------------------------------


@api.route("POST", f"{EP}/endpoint_groups", status=201)
def create_endpoint_group(call: Call) -> dict[str, Any]:
    call.authorize("identity:create_endpoint_group")
    body = call.body(EndpointGroupCreate, "endpoint_group")
    return {"endpoint_group": views.endpoint_group(call, backend.create_endpoint_group(call.db, body))}


@api.route("GET", f"{EP}/endpoint_groups")
def list_endpoint_groups(call: Call) -> dict[str, Any]:
    call.authorize("identity:list_endpoint_groups")
    rows = backend.list_endpoint_groups(call.db, call.query.get("name"))
    return collection(call, "endpoint_groups", [views.endpoint_group(call, r) for r in rows])


@api.route("GET", f"{EP}/endpoint_groups/{{group_id}}")
def show_endpoint_group(call: Call) -> dict[str, Any]:
    call.authorize("identity:get_endpoint_group")
    return {"endpoint_group": views.endpoint_group(call, backend.get_endpoint_group(call.db, call.params["group_id"]))}


@api.route("PATCH", f"{EP}/endpoint_groups/{{group_id}}")
def update_endpoint_group(call: Call) -> dict[str, Any]:
    call.authorize("identity:update_endpoint_group")
    body = call.body(EndpointGroupUpdate, "endpoint_group")
    row = backend.update_endpoint_group(call.db, call.params["group_id"], body)
    return {"endpoint_group": views.endpoint_group(call, row)}


@api.route("DELETE", f"{EP}/endpoint_groups/{{group_id}}")
def delete_endpoint_group(call: Call) -> None:
    call.authorize("identity:delete_endpoint_group")
    backend.delete_endpoint_group(call.db, call.params["group_id"])


@api.route("GET", f"{EP}/endpoint_groups/{{group_id}}/endpoints")
def endpoints_in_group(call: Call) -> dict[str, Any]:
    call.authorize(READ)
    group = backend.get_endpoint_group(call.db, call.params["group_id"])
    return _endpoints(call, backend.endpoints_in_group(call.db, group))


@api.route("GET", f"{EP}/endpoint_groups/{{group_id}}/projects")
def projects_of_group(call: Call) -> dict[str, Any]:
    call.authorize(READ)
    return _projects(call, backend.projects_of_group(call.db, call.params["group_id"]))


@api.route("GET", f"{EP}/endpoint_groups/{{group_id}}/projects/{{project_id}}")
def show_group_in_project(call: Call) -> dict[str, Any]:
    call.authorize(READ)
    link = backend.get_group_in_project(call.db, call.params["group_id"], call.params["project_id"])
    return {"project_endpoint_group": views.project_endpoint_group(call, link.endpoint_group_id, link.project_id)}


@api.route("PUT", f"{EP}/endpoint_groups/{{group_id}}/projects/{{project_id}}", status=204)
def add_group_to_project(call: Call) -> None:
    call.authorize(MANAGE)
    backend.add_group_to_project(call.db, call.params["group_id"], call.params["project_id"])


@api.route("DELETE", f"{EP}/endpoint_groups/{{group_id}}/projects/{{project_id}}")
def remove_group_from_project(call: Call) -> None:
    call.authorize(MANAGE)
    backend.remove_group_from_project(call.db, call.params["group_id"], call.params["project_id"])


# -- endpoints and projects -----------------------------------------------------------


@api.route("GET", f"{EP}/projects/{{project_id}}/endpoint_groups")
def groups_of_project(call: Call) -> dict[str, Any]:
    call.authorize(READ)
    rows = backend.groups_of_project(call.db, call.params["project_id"])
    return collection(call, "endpoint_groups", [views.endpoint_group(call, r) for r in rows])


@api.route("GET", f"{EP}/projects/{{project_id}}/endpoints")
def endpoints_of_project(call: Call) -> dict[str, Any]:
    call.authorize(READ)
    return _endpoints(call, backend.endpoints_of_project(call.db, call.params["project_id"]))


@api.route("GET", f"{EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}")
def check_endpoint_in_project(call: Call) -> None:
    call.authorize(READ)
    backend.check_endpoint_in_project(call.db, call.params["project_id"], call.params["endpoint_id"])


@api.route("PUT", f"{EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}", status=204)
def add_endpoint_to_project(call: Call) -> None:
    call.authorize(MANAGE)
    backend.add_endpoint_to_project(call.db, call.params["project_id"], call.params["endpoint_id"])


@api.route("DELETE", f"{EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}")
def remove_endpoint_from_project(call: Call) -> None:
    call.authorize(MANAGE)
    backend.remove_endpoint_from_project(call.db, call.params["project_id"], call.params["endpoint_id"])


@api.route("GET", f"{EP}/endpoints/{{endpoint_id}}/projects")
def projects_of_endpoint(call: Call) -> dict[str, Any]:
    call.authorize(READ)
    return _projects(call, backend.projects_of_endpoint(call.db, call.params["endpoint_id"]))
