"""Task rows -> Glance v2 JSON."""

from __future__ import annotations

from typing import Any

from ..models import Task
from .common import iso


def task(row: Task, *, detail: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "type": row.type,
        "status": row.status,
        "owner": row.owner,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "expires_at": iso(row.expires_at),
        "self": f"/v2/tasks/{row.id}",
        "schema": "/v2/schemas/task",
    }
    if detail:
        body.update(input=row.input, result=row.result, message=row.message, image_id=row.image_id, user_id=row.user_id, request_id=row.request_id)
    return body
