"""Bodies of credentials (and their OS-EC2 view), application credentials, access rules
and trusts, shaped as Keystone renders them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pocketstack.core.api import Call

from ..models import GLOBAL_ROLE, AccessRule, ApplicationCredential, Credential, Role, Trust
from .common import iso, links


def credential(call: Call, row: Credential, blob: str) -> dict[str, Any]:
    return {
        **(row.extra or {}),
        "id": row.id,
        "user_id": row.user_id,
        "project_id": row.project_id,
        "type": row.type,
        "blob": blob,
        "links": links(call, f"/v3/credentials/{row.id}"),
    }


def ec2_credential(call: Call, row: Credential, blob: dict[str, Any]) -> dict[str, Any]:
    """The OS-EC2 shape: tenant_id instead of project_id, the blob's keys spread out."""
    return {
        "user_id": row.user_id,
        "tenant_id": row.project_id,
        "access": blob.get("access"),
        "secret": blob.get("secret"),
        "trust_id": blob.get("trust_id"),
        "links": links(call, f"/v3/users/{row.user_id}/credentials/OS-EC2/{blob.get('access')}"),
    }


def role_ref(row: Role) -> dict[str, Any]:
    """A role as an application credential lists it (no links)."""
    return {
        "id": row.id,
        "name": row.name,
        "domain_id": None if row.domain_id == GLOBAL_ROLE else row.domain_id,
        "description": row.description,
        "options": row.options or {},
    }


def app_cred_expiry(value: dt.datetime | None) -> str | None:
    """Keystone echoes an application credential's expiry without a zone suffix
    (oslo's "perfect time format"); Tempest compares the strings."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def access_rule_in_app_cred(row: AccessRule) -> dict[str, Any]:
    return {"id": row.id, "service": row.service, "path": row.path, "method": row.method}


def access_rule(call: Call, row: AccessRule) -> dict[str, Any]:
    return {**access_rule_in_app_cred(row), "links": links(call, f"/v3/users/{row.user_id}/access_rules/{row.id}")}


def application_credential(
    call: Call, row: ApplicationCredential, roles: list[Role], rules: list[AccessRule], secret: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "user_id": row.user_id,
        "project_id": row.project_id,
        "system": row.system,
        "expires_at": app_cred_expiry(row.expires_at),
        "unrestricted": row.unrestricted,
        "roles": [role_ref(r) for r in roles],
        "links": links(call, f"/v3/users/{row.user_id}/application_credentials/{row.id}"),
    }
    if rules:
        body["access_rules"] = [access_rule_in_app_cred(r) for r in rules]
    if secret is not None:
        body["secret"] = secret  # shown once, at creation
    return body


def trust(call: Call, row: Trust, roles: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A trust with its roles (as /v3/roles renders them); `roles` None for list
    entries (Keystone leaves roles out of lists)."""
    body: dict[str, Any] = {
        **(row.extra or {}),
        "id": row.id,
        "trustor_user_id": row.trustor_user_id,
        "trustee_user_id": row.trustee_user_id,
        "project_id": row.project_id,
        "impersonation": row.impersonation,
        "expires_at": iso(row.expires_at),
        "remaining_uses": row.remaining_uses,
        "redelegated_trust_id": row.redelegated_trust_id,
        "redelegation_count": row.redelegation_count,
        "deleted_at": iso(row.deleted_at),
        "links": links(call, f"/v3/OS-TRUST/trusts/{row.id}"),
    }
    if roles is not None:
        body["roles"] = roles
        body["roles_links"] = {**links(call, f"/v3/OS-TRUST/trusts/{row.id}/roles"), "next": None, "previous": None}
    return body
