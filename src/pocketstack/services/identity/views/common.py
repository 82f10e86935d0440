"""Shapes every identity view shares: self links, list envelopes, timestamps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pocketstack.core.api import Call


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def links(call: Call, path: str) -> dict[str, str]:
    return {"self": call.url(path)}


def collection(call: Call, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """{"<key>": [...], "links": {...}} with the request's own URL as self."""
    self_url = call.url(call.request.url.path[len(call.request.scope.get("root_path", "")) :])
    if call.request.url.query:
        self_url += "?" + call.request.url.query
    return {key: items, "links": {"self": self_url, "previous": None, "next": None}}
