"""/v3/credentials and /v3/users/{user_id}/credentials/OS-EC2."""

from __future__ import annotations

import json
from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import Forbidden, NotFound, keystone_fault

from ..backend import credentials as backend
from ..backend.application_credentials import check_unrestricted
from ..models import Credential
from ..schemas.credentials import CredentialCreate, CredentialUpdate, Ec2CredentialCreate
from ..views import credentials as views
from ..views.common import collection

api = ApiRouter(keystone_fault)


def _cipher(call: Call) -> backend.CredentialCipher:
    return backend.cipher_for(call.cloud.settings.data_dir)


def _target(user_id: str | None, project_id: str | None = None) -> dict[str, Any]:
    # flat for our default rules, nested as Keystone's own policy files expect
    return {"user_id": user_id, "credential": {"user_id": user_id, "project_id": project_id}}


def _in_delegated_scope(call: Call, project_id: str | None) -> bool:
    """A trust or application credential token reaches only credentials of its own project."""
    ctx = call.ctx
    return not (ctx.trust_id or ctx.application_credential_id) or project_id == ctx.project_id


def _require_delegated_scope(call: Call, project_id: str | None) -> None:
    if not _in_delegated_scope(call, project_id):
        raise Forbidden("Credential project does not match the project scope of the delegated token.")


def _view(call: Call, row: Credential) -> dict[str, Any]:
    return views.credential(call, row, backend.blob_of(_cipher(call), row))


def _found(call: Call, rule: str) -> Credential:
    """The credential of the path, authorized for `rule` (403 before 404 for strangers)."""
    row = call.db.get(Credential, call.params["credential_id"])
    if row is None:
        call.authorize(rule, _target(None))
        raise NotFound(f"Could not find credential: {call.params['credential_id']}.")
    call.authorize(rule, _target(row.user_id, row.project_id))
    _require_delegated_scope(call, row.project_id)
    return row


@api.route("POST", "/v3/credentials", status=201)
def create_credential(call: Call) -> dict[str, Any]:
    body = call.body(CredentialCreate, "credential")
    call.authorize("identity:create_credential", _target(body.user_id, body.project_id))
    if body.type == backend.EC2:
        check_unrestricted(call.db, call.ctx, "additional credentials")
    _require_delegated_scope(call, body.project_id)
    delegation = {"trust_id": call.ctx.trust_id, "app_cred_id": call.ctx.application_credential_id}
    row = backend.create_credential(call.db, _cipher(call), body, delegation)
    return {"credential": _view(call, row)}


@api.route("GET", "/v3/credentials")
def list_credentials(call: Call) -> dict[str, Any]:
    ctx = call.require_auth()
    call.authorize("identity:list_credentials", None if ctx.system_scope else _target(ctx.user_id))
    rows = backend.list_credentials(call.db, call.query.get("user_id"), call.query.get("type"))
    # everyone may list; each sees only what they may read (their own, unless a reader)
    visible = [
        r for r in rows if call.allowed("identity:get_credential", _target(r.user_id, r.project_id)) and _in_delegated_scope(call, r.project_id)
    ]
    return collection(call, "credentials", [_view(call, r) for r in visible])


@api.route("GET", "/v3/credentials/{credential_id}")
def show_credential(call: Call) -> dict[str, Any]:
    return {"credential": _view(call, _found(call, "identity:get_credential"))}


@api.route("PATCH", "/v3/credentials/{credential_id}")
def update_credential(call: Call) -> dict[str, Any]:
    row = _found(call, "identity:update_credential")
    body = call.body(CredentialUpdate, "credential")
    # the caller must also be allowed the credential as it would become (no giving it away)
    merged_user = body.user_id if body.user_id is not None else row.user_id
    merged_project = body.project_id if "project_id" in body.model_fields_set else row.project_id
    call.authorize("identity:update_credential", _target(merged_user, merged_project))
    _require_delegated_scope(call, merged_project)
    row = backend.update_credential(call.db, _cipher(call), row, body)
    return {"credential": _view(call, row)}


@api.route("DELETE", "/v3/credentials/{credential_id}")
def delete_credential(call: Call) -> None:
    backend.delete_credential(call.db, _found(call, "identity:delete_credential"))


# -- OS-EC2 ------------------------------------------------------------------------------------

EC2_PATH = "/v3/users/{user_id}/credentials/OS-EC2"


def _ec2_view(call: Call, row: Credential) -> dict[str, Any]:
    return views.ec2_credential(call, row, json.loads(backend.blob_of(_cipher(call), row)))


@api.route("POST", EC2_PATH, status=201)
def create_ec2_credential(call: Call) -> dict[str, Any]:
    user_id = call.params["user_id"]
    call.authorize("identity:ec2_create_credential", _target(user_id))
    check_unrestricted(call.db, call.ctx, "additional credentials")
    body = call.body(Ec2CredentialCreate)
    _require_delegated_scope(call, body.tenant_id)
    row, blob = backend.create_ec2(call.db, _cipher(call), user_id, body.tenant_id, call.ctx.trust_id)
    return {"credential": views.ec2_credential(call, row, blob)}


@api.route("GET", EC2_PATH)
def list_ec2_credentials(call: Call) -> dict[str, Any]:
    user_id = call.params["user_id"]
    call.authorize("identity:ec2_list_credentials", _target(user_id))
    rows = backend.list_ec2(call.db, user_id)
    return collection(call, "credentials", [_ec2_view(call, r) for r in rows if _in_delegated_scope(call, r.project_id)])


def _found_ec2(call: Call, rule: str) -> Credential:
    """The path's credential_id is the access key itself, as in Keystone."""
    user_id = call.params["user_id"]
    try:
        row = backend.get_ec2(call.db, user_id, call.params["credential_id"])
    except NotFound:
        call.authorize(rule, _target(user_id))
        raise
    call.authorize(rule, _target(row.user_id, row.project_id))
    _require_delegated_scope(call, row.project_id)
    return row


@api.route("GET", EC2_PATH + "/{credential_id}")
def show_ec2_credential(call: Call) -> dict[str, Any]:
    return {"credential": _ec2_view(call, _found_ec2(call, "identity:ec2_get_credential"))}


@api.route("DELETE", EC2_PATH + "/{credential_id}")
def delete_ec2_credential(call: Call) -> None:
    backend.delete_credential(call.db, _found_ec2(call, "identity:ec2_delete_credential"))
