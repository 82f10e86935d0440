"""Image member rows -> Glance v2 JSON."""

from __future__ import annotations

from typing import Any

from ..models import ImageMember
from .common import iso


def member(row: ImageMember) -> dict[str, Any]:
    return {
        "image_id": row.image_id,
        "member_id": row.member,
        "status": row.status,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "schema": "/v2/schemas/member",
    }


def member_list(rows: list[ImageMember]) -> dict[str, Any]:
    return {"members": [member(r) for r in rows], "schema": "/v2/schemas/members"}
