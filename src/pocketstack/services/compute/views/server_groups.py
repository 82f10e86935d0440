"""Server groups as Nova shows them: "policies" (a one-item list) and an always empty
"metadata" until 2.64, "policy" and "rules" from it; project_id and user_id from 2.13."""

from __future__ import annotations

from typing import Any

from pocketstack.core.microversions import Version

from ..models import ServerGroup


def group(record: ServerGroup, members: list[str], version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"id": record.uuid, "name": record.name}
    if version >= "2.64":
        body["policy"] = record.policy
        body["rules"] = dict(record.rules or {})
    else:
        body["policies"] = [record.policy]
        body["metadata"] = {}
    body["members"] = members
    if version >= "2.13":
        body["project_id"] = record.project_id
        body["user_id"] = record.user_id
    return body
