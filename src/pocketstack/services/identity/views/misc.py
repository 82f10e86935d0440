"""Policy, OAuth1 consumer and limit bodies."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import Call

from ..models import Limit, OAuthConsumer, Policy, RegisteredLimit
from .common import links


def policy(call: Call, row: Policy) -> dict[str, Any]:
    return {**(row.extra or {}), "id": row.id, "type": row.type, "blob": row.blob, "links": links(call, f"/v3/policies/{row.id}")}


def consumer(call: Call, row: OAuthConsumer) -> dict[str, Any]:
    return {
        **(row.extra or {}),
        "id": row.id,
        "description": row.description,
        "links": links(call, f"/v3/OS-OAUTH1/consumers/{row.id}"),
    }


def registered_limit(call: Call, row: RegisteredLimit) -> dict[str, Any]:
    return {
        "id": row.id,
        "service_id": row.service_id,
        "region_id": row.region_id,
        "resource_name": row.resource_name,
        "default_limit": row.default_limit,
        "description": row.description,
        "links": links(call, f"/v3/registered_limits/{row.id}"),
    }


def limit(call: Call, row: Limit) -> dict[str, Any]:
    return {
        "id": row.id,
        "project_id": row.project_id,
        "domain_id": row.domain_id,
        "service_id": row.service_id,
        "region_id": row.region_id,
        "resource_name": row.resource_name,
        "resource_limit": row.resource_limit,
        "description": row.description,
        "links": links(call, f"/v3/limits/{row.id}"),
    }
