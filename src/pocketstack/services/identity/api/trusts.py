"""/v3/OS-TRUST/trusts and the roles a trust delegates."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import NotFound, keystone_fault

from ..backend import trusts as backend
from ..backend.application_credentials import check_unrestricted
from ..models import Role, Trust
from ..schemas.credentials import TrustCreate
from ..views import credentials as views
from ..views.common import collection
from ..views.roles import role as role_view

api = ApiRouter(keystone_fault)

TRUSTS = "/v3/OS-TRUST/trusts"


def _target(row: Trust) -> dict[str, Any]:
    return {"trust": {"trustor_user_id": row.trustor_user_id, "trustee_user_id": row.trustee_user_id}}


def _found(call: Call, rule: str) -> Trust:
    row = backend.get_trust(call.db, call.params["trust_id"])
    call.authorize(rule, _target(row))
    return row


def _view(call: Call, row: Trust) -> dict[str, Any]:
    return views.trust(call, row, [role_view(call, r) for r in backend.roles_of(call.db, row.id)])


@api.route("POST", TRUSTS, status=201)
def create_trust(call: Call) -> dict[str, Any]:
    body = call.body(TrustCreate, "trust")
    call.authorize("identity:create_trust", {"trust": {"trustor_user_id": body.trustor_user_id}})
    check_unrestricted(call.db, call.ctx, "trusts")
    row = backend.create_trust(call.db, call.ctx, body)
    return {"trust": _view(call, row)}


@api.route("GET", TRUSTS)
def list_trusts(call: Call) -> dict[str, Any]:
    trustor = call.query.get("trustor_user_id")
    trustee = call.query.get("trustee_user_id")
    if trustor:
        call.authorize("identity:list_trusts_for_trustor", {"trust": {"trustor_user_id": trustor}})
    elif trustee:
        call.authorize("identity:list_trusts_for_trustee", {"trust": {"trustee_user_id": trustee}})
    else:
        call.authorize("identity:list_trusts")
    if trustor or trustee:
        rows = backend.list_trusts(call.db, trustor or None, trustee or None)
    elif call.query:
        rows = []  # Keystone: other query parameters alone match nothing
    else:
        rows = backend.list_trusts(call.db)
    return collection(call, "trusts", [views.trust(call, r, None) for r in rows])


@api.route("GET", TRUSTS + "/{trust_id}")
def show_trust(call: Call) -> dict[str, Any]:
    return {"trust": _view(call, _found(call, "identity:get_trust"))}


@api.route("DELETE", TRUSTS + "/{trust_id}")
def delete_trust(call: Call) -> None:
    row = _found(call, "identity:delete_trust")
    check_unrestricted(call.db, call.ctx, "trusts")
    backend.delete_trust(call.db, row, call.cloud.identity.tokens.revoke)


@api.route("GET", TRUSTS + "/{trust_id}/roles")
def list_trust_roles(call: Call) -> dict[str, Any]:
    row = _found(call, "identity:list_roles_for_trust")
    body = _view(call, row)
    return {"roles": body["roles"], "links": body["roles_links"]}


@api.route("GET", TRUSTS + "/{trust_id}/roles/{role_id}")
def show_trust_role(call: Call) -> dict[str, Any]:
    row = _found(call, "identity:get_role_for_trust")
    role_id = call.params["role_id"]
    role = call.db.get(Role, role_id) if role_id in backend.role_ids_of(call.db, row.id) else None
    if role is None:
        raise NotFound(f"Could not find role: {role_id}.")
    return {"role": role_view(call, role)}
