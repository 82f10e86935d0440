"""/v3/users/{user_id}/application_credentials and /v3/users/{user_id}/access_rules."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import keystone_fault

from ..backend import application_credentials as backend
from ..models import ApplicationCredential
from ..schemas.credentials import ApplicationCredentialCreate
from ..views import credentials as views
from ..views.common import collection

api = ApiRouter(keystone_fault)

APP_CREDS = "/v3/users/{user_id}/application_credentials"
ACCESS_RULES = "/v3/users/{user_id}/access_rules"


def _target(user_id: str) -> dict[str, Any]:
    return {"user_id": user_id, "user": {"id": user_id}}


def _view(call: Call, row: ApplicationCredential, secret: str | None = None) -> dict[str, Any]:
    return views.application_credential(call, row, backend.roles_of(call.db, row.id), backend.access_rules_of(call.db, row.id), secret)


def _authorized(call: Call, rule: str) -> str:
    """Authorize `rule` for the path's user; trust-scoped tokens never manage these."""
    user_id = call.params["user_id"]
    call.authorize(rule, _target(user_id))
    backend.forbid_trust_token(call.ctx)
    return user_id


def _found(call: Call, rule: str) -> ApplicationCredential:
    user_id = _authorized(call, rule)
    return backend.get(call.db, user_id, call.params["application_credential_id"])


@api.route("POST", APP_CREDS, status=201)
def create_application_credential(call: Call) -> dict[str, Any]:
    user_id = _authorized(call, "identity:create_application_credential")
    backend.check_unrestricted(call.db, call.ctx, "additional application credentials")
    body = call.body(ApplicationCredentialCreate, "application_credential")
    row, secret = backend.create(call.db, call.ctx, user_id, body, call.cloud.settings.identity)
    return {"application_credential": _view(call, row, secret)}


@api.route("GET", APP_CREDS)
def list_application_credentials(call: Call) -> dict[str, Any]:
    user_id = _authorized(call, "identity:list_application_credentials")
    rows = backend.list_for_user(call.db, user_id, call.query.get("name"))
    return collection(call, "application_credentials", [_view(call, r) for r in rows])


@api.route("GET", APP_CREDS + "/{application_credential_id}")
def show_application_credential(call: Call) -> dict[str, Any]:
    return {"application_credential": _view(call, _found(call, "identity:get_application_credential"))}


@api.route("DELETE", APP_CREDS + "/{application_credential_id}")
def delete_application_credential(call: Call) -> None:
    row = _found(call, "identity:delete_application_credential")
    backend.check_unrestricted(call.db, call.ctx, "additional application credentials")
    backend.delete_credential(call.db, row)
    call.cloud.identity.tokens.revoke(call.db, application_credential_id=row.id)


# -- access rules --------------------------------------------------------------------------------


@api.route("GET", ACCESS_RULES)
def list_access_rules(call: Call) -> dict[str, Any]:
    user_id = _authorized(call, "identity:list_access_rules")
    filters = {k: call.query.get(k) for k in ("service", "path", "method")}
    rows = backend.list_access_rules(call.db, user_id, filters)
    return collection(call, "access_rules", [views.access_rule(call, r) for r in rows])


@api.route("GET", ACCESS_RULES + "/{access_rule_id}")
def show_access_rule(call: Call) -> dict[str, Any]:
    user_id = _authorized(call, "identity:get_access_rule")
    return {"access_rule": views.access_rule(call, backend.get_access_rule(call.db, user_id, call.params["access_rule_id"]))}


@api.route("DELETE", ACCESS_RULES + "/{access_rule_id}")
def delete_access_rule(call: Call) -> None:
    user_id = _authorized(call, "identity:delete_access_rule")
    backend.delete_access_rule(call.db, backend.get_access_rule(call.db, user_id, call.params["access_rule_id"]))
