"""/v3/users, a user's own password change, the projects and groups of a user."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import NotFound, keystone_fault

from ..backend import groups as group_backend
from ..backend import users as backend
from ..models import User
from ..schemas.users import PasswordChange, UserCreate, UserUpdate
from ..views import groups as group_views
from ..views import projects as project_views
from ..views import users as views
from ..views.common import collection

api = ApiRouter(keystone_fault)

LIST_FILTERS = ("name", "domain_id", "password_expires_at")


def user_target(row: User) -> dict[str, Any]:
    return {"user": {"id": row.id, "domain_id": row.domain_id}, "domain_id": row.domain_id}


def authorized_user(call: Call, rule: str) -> User:
    """The user of the path once the caller may act on it; a missing one is a 404 only
    for callers the rule lets through (as Keystone: policy first, then existence)."""
    user_id = call.params["user_id"]
    row = call.db.get(User, user_id)
    if row is None:
        call.authorize(rule, {"user": {"id": user_id}})
        raise NotFound(f"Could not find user: {user_id}.")
    call.authorize(rule, user_target(row))
    return row


def user_filters(call: Call) -> dict[str, Any]:
    filters: dict[str, Any] = {k: call.query.get(k) for k in LIST_FILTERS}
    filters["enabled"] = call.query_bool("enabled")
    return filters


def in_token_domain(call: Call, rows: list[Any]) -> list[Any]:
    """A domain-scoped caller sees its own domain's entities only (Keystone does the same)."""
    if call.ctx.domain_id:
        return [r for r in rows if r.domain_id == call.ctx.domain_id]
    return rows


def _settings(call: Call) -> Any:
    return call.cloud.settings.identity


def _revoke(call: Call) -> Any:
    return call.cloud.identity.tokens.revoke


@api.route("POST", "/v3/users", status=201)
def create_user(call: Call) -> dict[str, Any]:
    body = call.body(UserCreate, "user")
    domain_id = body.domain_id or backend.default_domain_id(call.ctx)
    call.authorize("identity:create_user", {"user": {"domain_id": domain_id}, "domain_id": domain_id})
    row = backend.create_user(call.db, call.ctx, body, _settings(call))
    return {"user": views.one_user(call, row)}


@api.route("GET", "/v3/users")
def list_users(call: Call) -> dict[str, Any]:
    filters = user_filters(call)
    call.authorize("identity:list_users", {"domain_id": filters["domain_id"] or call.ctx.domain_id})
    rows = in_token_domain(call, backend.list_users(call.db, filters))
    return collection(call, "users", views.users(call, rows))


@api.route("GET", "/v3/users/{user_id}")
def show_user(call: Call) -> dict[str, Any]:
    row = authorized_user(call, "identity:get_user")
    return {"user": views.one_user(call, row)}


@api.route("PATCH", "/v3/users/{user_id}")
def update_user(call: Call) -> dict[str, Any]:
    row = authorized_user(call, "identity:update_user")
    body = call.body(UserUpdate, "user")
    row = backend.update_user(call.db, row, body, _settings(call), _revoke(call))
    return {"user": views.one_user(call, row)}


@api.route("DELETE", "/v3/users/{user_id}")
def delete_user(call: Call) -> None:
    row = authorized_user(call, "identity:delete_user")
    backend.delete_user(call.db, row, _revoke(call))


@api.route("POST", "/v3/users/{user_id}/password", status=204, tx="none")
def change_password(call: Call) -> None:
    """Self-service: no token needed (an expired password must be replaceable), the
    original password is the proof. Two transactions: a wrong original must still count
    toward lockout, which a rolled-back write would forget."""
    body = call.body(PasswordChange, "user")
    identity = call.cloud.identity
    user_id = call.params["user_id"]
    with call.cloud.db.read() as db:
        backend.prove_password(db, user_id, body.original_password, identity.tokens.check_password)
    with call.cloud.db.write() as db:
        backend.change_own_password(db, user_id, body.password, _settings(call), identity.tokens.revoke)
    identity.changed()  # tx="none" gets no automatic cache flush


@api.route("GET", "/v3/users/{user_id}/projects")
def list_user_projects(call: Call) -> dict[str, Any]:
    row = authorized_user(call, "identity:list_user_projects")
    filters: dict[str, Any] = {"name": call.query.get("name"), "domain_id": call.query.get("domain_id")}
    filters["enabled"] = call.query_bool("enabled")
    projects = backend.projects_of(call.db, row.id, filters)
    return collection(call, "projects", [project_views.project(call, p) for p in projects])


@api.route("GET", "/v3/users/{user_id}/groups")
def list_user_groups(call: Call) -> dict[str, Any]:
    row = authorized_user(call, "identity:list_groups_for_user")
    groups = in_token_domain(call, group_backend.groups_of(call.db, row.id, {"name": call.query.get("name")}))
    return collection(call, "groups", [group_views.group(call, g) for g in groups])
