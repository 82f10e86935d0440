"""Image rows -> Glance v2 JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from ..models import Image
from .common import iso


def image(row: Image, order_stores: Callable[[list[str]], list[str]] = sorted) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "visibility": row.visibility,
        "protected": row.protected,
        "os_hidden": row.os_hidden,
        "owner": row.owner,
        "checksum": row.checksum,
        "os_hash_algo": row.os_hash_algo,
        "os_hash_value": row.os_hash_value,
        "size": row.size,
        "virtual_size": row.virtual_size,
        "min_disk": row.min_disk,
        "min_ram": row.min_ram,
        "disk_format": row.disk_format,
        "container_format": row.container_format,
        "tags": [t.value for t in row.tags],
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "self": f"/v2/images/{row.id}",
        "file": f"/v2/images/{row.id}/file",
        "schema": "/v2/schemas/image",
    }
    if row.stores:
        body["stores"] = ",".join(order_stores(row.stores))
    # custom properties sit beside the core ones; a core name always wins
    for prop in row.properties:
        body.setdefault(prop.name, prop.value)
    return body


def image_list(rows: list[Image], page: Any, query: Mapping[str, str], order_stores: Callable[[list[str]], list[str]] = sorted) -> dict[str, Any]:
    body: dict[str, Any] = {"images": [image(r, order_stores) for r in rows], "first": "/v2/images", "schema": "/v2/schemas/images"}
    if page.has_next and rows:
        kept = [(k, v) for k, v in query.multi_items() if k != "marker"] if hasattr(query, "multi_items") else list(query.items())
        kept.append(("marker", rows[-1].id))
        body["next"] = "/v2/images?" + urlencode(kept)
    return body
