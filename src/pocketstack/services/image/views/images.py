"""Image rows -> Glance v2 JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ..models import Image
from .common import iso


@dataclass(frozen=True)
class Look:
    """How this cloud shows images: the order of stores, and what it reveals about where
    the data lives (Glance's show_multiple_locations and show_image_direct_url)."""

    order_stores: Callable[[list[str]], list[str]] = sorted
    # (store id, image id) -> the URL of the data in that store
    store_url: Callable[[str, str], str] = lambda store_id, image_id: f"file:///{store_id}/{image_id}"
    show_locations: bool = False
    show_direct_url: bool = False
    http_store_id: str = "web"

    def locations(self, row: Image) -> list[dict[str, Any]]:
        kept = [{"url": self.store_url(sid, row.id), "metadata": {"store": sid}} for sid in self.order_stores(row.stores)]
        return kept + [dict(loc) for loc in row.locations or []]

    def stores(self, row: Image) -> list[str]:
        held = self.order_stores(row.stores)
        return held + [self.http_store_id] if row.locations else held


PLAIN = Look()


def image(row: Image, look: Look = PLAIN) -> dict[str, Any]:
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
    stores = look.stores(row)
    if stores:
        body["stores"] = ",".join(stores)
    if look.show_locations or look.show_direct_url:
        locations = look.locations(row)
        if look.show_locations:
            body["locations"] = locations
        if look.show_direct_url and locations:
            body["direct_url"] = locations[0]["url"]
    # custom properties sit beside the core ones; a core name always wins
    for prop in row.properties:
        body.setdefault(prop.name, prop.value)
    return body


def image_list(rows: list[Image], page: Any, query: Mapping[str, str], look: Look = PLAIN) -> dict[str, Any]:
    body: dict[str, Any] = {"images": [image(r, look) for r in rows], "first": "/v2/images", "schema": "/v2/schemas/images"}
    if page.has_next and rows:
        kept = [(k, v) for k, v in query.multi_items() if k != "marker"] if hasattr(query, "multi_items") else list(query.items())
        kept.append(("marker", rows[-1].id))
        body["next"] = "/v2/images?" + urlencode(kept)
    return body
