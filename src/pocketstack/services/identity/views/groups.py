"""Group bodies."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import Call

from ..models import Group
from .common import links


def group(call: Call, row: Group) -> dict[str, Any]:
    return {
        **(row.extra or {}),
        "id": row.id,
        "name": row.name,
        "domain_id": row.domain_id,
        "description": row.description,
        "links": links(call, f"/v3/groups/{row.id}"),
    }
