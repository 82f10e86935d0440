"""/v3/roles, their implied roles (/v3/roles/{id}/implies) and /v3/role_inferences."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import NotFound, keystone_fault

from ..backend import roles as backend
from ..models import Role
from ..schemas.roles import RoleCreate, RoleUpdate
from ..views import roles as views
from ..views.common import collection

api = ApiRouter(keystone_fault)


def role_target(row: Role) -> dict[str, Any]:
    domain_id = backend.domain_of(row)
    return {"role": {"id": row.id, "name": row.name, "domain_id": domain_id}, "domain_id": domain_id}


def authorized_role(call: Call, action: str) -> Role:
    """The role of the path once the caller may `action` it: a domain-specific role is
    checked against identity:<action>_domain_role, as Keystone does; a missing role is
    a 404 only for callers the global rule lets through."""
    row = call.db.get(Role, call.params["role_id"])
    if row is None:
        call.authorize(f"identity:{action}_role")
        raise NotFound(f"Could not find role: {call.params['role_id']}.")
    if backend.domain_of(row):
        call.authorize(f"identity:{action}_domain_role", role_target(row))
    else:
        call.authorize(f"identity:{action}_role", role_target(row))
    return row


@api.route("POST", "/v3/roles", status=201)
def create_role(call: Call) -> dict[str, Any]:
    body = call.body(RoleCreate, "role")
    if body.domain_id:
        call.authorize("identity:create_domain_role", {"role": body.model_dump(), "domain_id": body.domain_id})
    else:
        call.authorize("identity:create_role")
    return {"role": views.role(call, backend.create_role(call.db, body))}


@api.route("GET", "/v3/roles")
def list_roles(call: Call) -> dict[str, Any]:
    domain_id = call.query.get("domain_id") or None
    if domain_id:
        call.authorize("identity:list_domain_roles", {"domain_id": domain_id})
    else:
        call.authorize("identity:list_roles")
    rows = backend.list_roles(call.db, call.query.get("name"), domain_id)
    return collection(call, "roles", [views.role(call, r) for r in rows])


@api.route("GET", "/v3/roles/{role_id}")
def show_role(call: Call) -> dict[str, Any]:
    return {"role": views.role(call, authorized_role(call, "get"))}


@api.route("PATCH", "/v3/roles/{role_id}")
def update_role(call: Call) -> dict[str, Any]:
    row = authorized_role(call, "update")
    body = call.body(RoleUpdate, "role")
    return {"role": views.role(call, backend.update_role(call.db, row, body))}


@api.route("DELETE", "/v3/roles/{role_id}")
def delete_role(call: Call) -> None:
    backend.delete_role(call.db, authorized_role(call, "delete"))


# -- implied roles --------------------------------------------------------------------------

IMPLIES = "/v3/roles/{prior_role_id}/implies"
IMPLIED = IMPLIES + "/{implied_role_id}"


def _role_ref(row: Role) -> dict[str, Any]:
    return role_target(row)["role"]


def _prior_role(call: Call, rule: str) -> Role:
    prior = backend.get_role(call.db, call.params["prior_role_id"])
    call.authorize(rule, {"prior_role": _role_ref(prior)})
    return prior


def _inference_pair(call: Call, rule: str) -> tuple[Role, Role]:
    """The prior and implied roles of the path; as Keystone, both are looked up (404)
    before the policy check, which may inspect them."""
    prior = backend.get_role(call.db, call.params["prior_role_id"])
    implied = backend.get_role(call.db, call.params["implied_role_id"])
    call.authorize(rule, {"prior_role": _role_ref(prior), "implied_role": _role_ref(implied)})
    return prior, implied


def _inference_body(call: Call, prior: Role, implied: Role) -> dict[str, Any]:
    return views.inference(call, prior, implied, f"/v3/roles/{prior.id}/implies/{implied.id}")


@api.route("GET", IMPLIES)
def list_implied_roles(call: Call) -> dict[str, Any]:
    prior = _prior_role(call, "identity:list_implied_roles")
    return views.inference(call, prior, backend.implied_by(call.db, prior), f"/v3/roles/{prior.id}/implies")


@api.route("PUT", IMPLIED, status=201)
def create_implied_role(call: Call) -> dict[str, Any]:
    prior, implied = _inference_pair(call, "identity:create_implied_role")
    backend.create_implied_role(call.db, prior, implied)
    return _inference_body(call, prior, implied)


@api.route("GET", IMPLIED)
def show_implied_role(call: Call) -> dict[str, Any]:
    prior, implied = _inference_pair(call, "identity:get_implied_role")
    backend.get_implied_role(call.db, prior, implied)
    return _inference_body(call, prior, implied)


@api.route("HEAD", IMPLIED)
def check_implied_role(call: Call) -> None:
    """Keystone answers 204 here although GET answers 200 (kept for its API contract);
    it asks for both check_implied_role and get_implied_role."""
    prior, implied = _inference_pair(call, "identity:check_implied_role")
    call.authorize("identity:get_implied_role", {"prior_role": _role_ref(prior), "implied_role": _role_ref(implied)})
    backend.get_implied_role(call.db, prior, implied)


@api.route("DELETE", IMPLIED)
def delete_implied_role(call: Call) -> None:
    prior, implied = _inference_pair(call, "identity:delete_implied_role")
    backend.delete_implied_role(call.db, prior, implied)


@api.route("GET", "/v3/role_inferences")
def list_role_inferences(call: Call) -> dict[str, Any]:
    call.authorize("identity:list_role_inference_rules")
    return views.inferences(call, backend.inference_rules(call.db))
