"""User bodies. A password or its hash never appears in one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pocketstack.core.api import Call

from ..backend.users import password_expiries
from ..models import User
from .common import iso, links


def user(call: Call, row: User, password_expires_at: dt.datetime | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        **(row.extra or {}),
        "id": row.id,
        "name": row.name,
        "domain_id": row.domain_id,
        "enabled": row.enabled,
        "password_expires_at": iso(password_expires_at),
        "options": dict(row.options or {}),
        "links": links(call, f"/v3/users/{row.id}"),
    }
    # Keystone returns these only when they are set
    for name in ("default_project_id", "description", "email"):
        value = getattr(row, name)
        if value is not None:
            body[name] = value
    return body


def users(call: Call, rows: Sequence[User]) -> list[dict[str, Any]]:
    expiries = password_expiries(call.db, [r.id for r in rows])
    return [user(call, r, expiries.get(r.id)) for r in rows]


def one_user(call: Call, row: User) -> dict[str, Any]:
    return users(call, [row])[0]
