"""Small pieces every resource's handlers share: who owns what is being created, how a
created resource (or a bulk of them) is answered, and `fields=` on a show."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import Call
from pocketstack.core.faults import BadRequest

from .attributes import Parsed
from .listing import fields_of, only


def owner(call: Call, parsed: Parsed[Any]) -> str:
    """The project a new resource belongs to: the one the body names (admins), else the
    caller's own."""
    call.require_auth()
    project_id = parsed.project_id or call.ctx.project_id
    if not project_id:
        raise BadRequest("A project-scoped token, or project_id in the request body, is required.")
    return project_id


def is_bulk(call: Call, resource: str) -> bool:
    data = call.json()
    return isinstance(data, dict) and f"{resource}s" in data


def created(call: Call, resource: str, views: list[dict[str, Any]]) -> dict[str, Any]:
    if is_bulk(call, resource):
        return {f"{resource}s": views}
    return {resource: views[0]}


def shown(call: Call, resource: str, view: dict[str, Any]) -> dict[str, Any]:
    return {resource: only(fields_of(call), view)}
