"""Project and domain bodies."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import Call

from ..backend.projects import tags_of
from ..models import Project
from .common import links


def project(call: Call, row: Project) -> dict[str, Any]:
    extra = dict(row.extra or {})
    options = extra.pop("options", {})
    return {
        **extra,
        "id": row.id,
        "name": row.name,
        "domain_id": row.domain_id,
        "parent_id": row.parent_id,
        "description": row.description or "",
        "enabled": row.enabled,
        "is_domain": False,
        "tags": tags_of(call.db, row.id),
        "options": options,
        "links": links(call, f"/v3/projects/{row.id}"),
    }


def domain(call: Call, row: Project) -> dict[str, Any]:
    extra = dict(row.extra or {})
    options = extra.pop("options", {})
    return {
        **extra,
        "id": row.id,
        "name": row.name,
        "description": row.description or "",
        "enabled": row.enabled,
        "tags": tags_of(call.db, row.id),
        "options": options,
        "links": links(call, f"/v3/domains/{row.id}"),
    }


def domain_as_project(call: Call, row: Project) -> dict[str, Any]:
    """A domain seen through /v3/projects (is_domain=true queries)."""
    body = domain(call, row)
    body.update({"domain_id": None, "parent_id": None, "is_domain": True, "links": links(call, f"/v3/projects/{row.id}")})
    return body
