"""/v3/groups and their members."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import NotFound, keystone_fault

from ..backend import groups as backend
from ..backend import users as user_backend
from ..backend.common import default_domain_id
from ..models import Group, User
from ..schemas.groups import GroupCreate, GroupUpdate
from ..views import groups as views
from ..views import users as user_views
from ..views.common import collection
from .users import in_token_domain, user_filters

api = ApiRouter(keystone_fault)


def group_target(row: Group) -> dict[str, Any]:
    return {"group": {"id": row.id, "domain_id": row.domain_id}, "domain_id": row.domain_id}


def authorized_group(call: Call, rule: str) -> Group:
    """The group of the path once the caller may act on it (policy first, then existence)."""
    group_id = call.params["group_id"]
    row = call.db.get(Group, group_id)
    if row is None:
        call.authorize(rule, {"group": {"id": group_id}})
        raise NotFound(f"Could not find group: {group_id}.")
    call.authorize(rule, group_target(row))
    return row


def group_and_member(call: Call, rule: str) -> tuple[Group, User]:
    group = authorized_group(call, rule)
    return group, user_backend.get_user(call.db, call.params["user_id"])


@api.route("POST", "/v3/groups", status=201)
def create_group(call: Call) -> dict[str, Any]:
    body = call.body(GroupCreate, "group")
    domain_id = body.domain_id or default_domain_id(call.ctx)
    call.authorize("identity:create_group", {"group": {"domain_id": domain_id}, "domain_id": domain_id})
    return {"group": views.group(call, backend.create_group(call.db, call.ctx, body))}


@api.route("GET", "/v3/groups")
def list_groups(call: Call) -> dict[str, Any]:
    filters = {"name": call.query.get("name"), "domain_id": call.query.get("domain_id")}
    call.authorize("identity:list_groups", {"domain_id": filters["domain_id"] or call.ctx.domain_id})
    rows = in_token_domain(call, backend.list_groups(call.db, filters))
    return collection(call, "groups", [views.group(call, r) for r in rows])


@api.route("GET", "/v3/groups/{group_id}")
def show_group(call: Call) -> dict[str, Any]:
    return {"group": views.group(call, authorized_group(call, "identity:get_group"))}


@api.route("PATCH", "/v3/groups/{group_id}")
def update_group(call: Call) -> dict[str, Any]:
    row = authorized_group(call, "identity:update_group")
    body = call.body(GroupUpdate, "group")
    return {"group": views.group(call, backend.update_group(call.db, row, body))}


@api.route("DELETE", "/v3/groups/{group_id}")
def delete_group(call: Call) -> None:
    backend.delete_group(call.db, authorized_group(call, "identity:delete_group"))


@api.route("GET", "/v3/groups/{group_id}/users")
def list_group_users(call: Call) -> dict[str, Any]:
    row = authorized_group(call, "identity:list_users_in_group")
    users = user_backend.list_users(call.db, user_filters(call), group_id=row.id)
    return collection(call, "users", user_views.users(call, users))


@api.route("PUT", "/v3/groups/{group_id}/users/{user_id}")
def add_group_user(call: Call) -> None:
    backend.add_member(call.db, *group_and_member(call, "identity:add_user_to_group"))


@api.route("GET", "/v3/groups/{group_id}/users/{user_id}")
def check_group_user(call: Call) -> None:
    backend.require_member(call.db, *group_and_member(call, "identity:check_user_in_group"))


@api.route("DELETE", "/v3/groups/{group_id}/users/{user_id}")
def remove_group_user(call: Call) -> None:
    backend.remove_member(call.db, *group_and_member(call, "identity:remove_user_from_group"))
