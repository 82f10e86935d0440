"""/v3/policies."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import keystone_fault

from ..backend import policies as backend
from ..schemas.misc import PolicyCreate, PolicyUpdate
from ..views import misc as views
from ..views.common import collection

api = ApiRouter(keystone_fault)


@api.route("POST", "/v3/policies", status=201)
def create_policy(call: Call) -> dict[str, Any]:
    call.authorize("identity:create_policy")
    body = call.body(PolicyCreate, "policy")
    return {"policy": views.policy(call, backend.create_policy(call.db, body))}


@api.route("GET", "/v3/policies")
def list_policies(call: Call) -> dict[str, Any]:
    call.authorize("identity:list_policies")
    rows = backend.list_policies(call.db, call.query.get("type"))
    return collection(call, "policies", [views.policy(call, r) for r in rows])


@api.route("GET", "/v3/policies/{policy_id}")
def show_policy(call: Call) -> dict[str, Any]:
    call.authorize("identity:get_policy")
    return {"policy": views.policy(call, backend.get_policy(call.db, call.params["policy_id"]))}


@api.route("PATCH", "/v3/policies/{policy_id}")
def update_policy(call: Call) -> dict[str, Any]:
    call.authorize("identity:update_policy")
    body = call.body(PolicyUpdate, "policy")
    return {"policy": views.policy(call, backend.update_policy(call.db, call.params["policy_id"], body))}


@api.route("DELETE", "/v3/policies/{policy_id}")
def delete_policy(call: Call) -> None:
    call.authorize("identity:delete_policy")
    backend.delete_policy(call.db, call.params["policy_id"])
