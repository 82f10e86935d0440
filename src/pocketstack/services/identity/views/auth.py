"""Token bodies, as Keystone renders them for POST/GET /v3/auth/tokens."""

from __future__ import annotations

from typing import Any

from ..backend.auth import TokenData
from .common import iso


def token(data: TokenData, catalog: list[dict[str, Any]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "methods": data.payload.methods,
        "user": data.user,
        "audit_ids": data.payload.audit_ids,
        "expires_at": iso(data.payload.expires_at),
        "issued_at": iso(data.payload.issued_at),
    }
    if data.project is not None:
        body["project"] = data.project
        body["is_domain"] = data.is_domain
    if data.domain is not None:
        body["domain"] = data.domain
    if data.system is not None:
        body["system"] = {data.system: True}
    if data.project is not None or data.domain is not None or data.system is not None:
        body["roles"] = data.roles
    if data.trust is not None:
        body["OS-TRUST:trust"] = data.trust
    if data.application_credential is not None:
        body["application_credential"] = data.application_credential
    if catalog is not None and (data.project is not None or data.domain is not None or data.system is not None):
        body["catalog"] = catalog
    return {"token": body}
