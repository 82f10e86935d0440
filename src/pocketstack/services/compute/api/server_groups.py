"""os-server-groups: affinity policies for the servers of a project.

GET    /v2.1/os-server-groups[?all_projects&limit&offset]   list (all projects: admins)
POST   /v2.1/os-server-groups                               create (quota server_groups)
GET    /v2.1/os-server-groups/{group_id}                    show
DELETE /v2.1/os-server-groups/{group_id}                    delete (204)
"""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, nova_fault

from ..backend import server_groups as backend
from ..models import ServerGroup
from ..schemas.server_groups import create_model
from ..views import server_groups as views

api = ApiRouter(nova_fault)

COLLECTION = "/v2.1/os-server-groups"
ITEM = "/v2.1/os-server-groups/{group_id}"
LIST_QUERY_PARAMETERS = {"all_projects", "limit", "offset"}


def _render(call: Call, group: ServerGroup) -> dict[str, Any]:
    return views.group(group, backend.members_of(call.db, group), call.version)


def _paging_number(call: Call, name: str) -> int | None:
    raw = call.query.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw[:40]}. {raw[:40]!r} does not match '^[0-9]*$'")
    return int(raw)


@api.route("GET", COLLECTION)
def list_groups(call: Call) -> dict[str, Any]:
    ctx = call.require_auth()
    if call.version >= "2.75":
        unknown = sorted(set(call.query) - LIST_QUERY_PARAMETERS)
        if unknown:
            raise BadRequest(
                f"Invalid input for query parameters: additional properties are not allowed ({', '.join(unknown)[:200]} unexpected)"
            )
    call.authorize("os_compute_api:os-server-groups:index", {"project_id": ctx.project_id})
    project_id: str | None = ctx.project_id
    # Nova: a non-admin asking for all projects quietly gets their own
    if "all_projects" in call.query and ctx.is_admin:
        call.authorize("os_compute_api:os-server-groups:index:all_projects", {"project_id": ctx.project_id})
        project_id = None
    offset = _paging_number(call, "offset") or 0
    limit = min(_paging_number(call, "limit") or backend.MAX_PAGE_SIZE, backend.MAX_PAGE_SIZE)
    groups = backend.list_groups(call.db, project_id, offset=offset, limit=limit)
    return {"server_groups": [_render(call, group) for group in groups]}


@api.route("POST", COLLECTION)
def create_group(call: Call) -> dict[str, Any]:
    ctx = call.require_auth()
    call.authorize("os_compute_api:os-server-groups:create", {"project_id": ctx.project_id})
    if not ctx.project_id:
        raise BadRequest("Server groups belong to projects: a project-scoped token is needed.")
    request = call.body(create_model(call.version), "server_group")
    data = call.json()
    extra = sorted(set(data) - {"server_group"})
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({', '.join(map(repr, extra))} was unexpected)")
    group = backend.create_group(
        call.db, call.cloud.settings.compute, ctx.project_id, ctx.user_id or "", request.name, request.the_policy, request.the_rules
    )
    return {"server_group": _render(call, group)}


@api.route("GET", ITEM)
def show_group(call: Call) -> dict[str, Any]:
    call.require_auth()
    group = backend.get_group(call.db, call.params["group_id"])
    call.authorize("os_compute_api:os-server-groups:show", {"project_id": group.project_id})
    return {"server_group": _render(call, group)}


@api.route("DELETE", ITEM, status=204)
def delete_group(call: Call) -> None:
    call.require_auth()
    group = backend.get_group(call.db, call.params["group_id"])
    call.authorize("os_compute_api:os-server-groups:delete", {"project_id": group.project_id})
    backend.delete_group(call.db, group)
