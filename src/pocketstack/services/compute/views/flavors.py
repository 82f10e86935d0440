"""Flavor records as Nova shows them (nova/api/openstack/compute/views/flavors.py), at
the request's microversion: descriptions from 2.55, extra specs embedded from 2.61
(for callers who may read them), and swap as 0 rather than "" from 2.75."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pocketstack.core.api import Call

from ..backend.flavors import extra_specs
from ..models import Flavor


def links(call: Call, flavorid: str) -> list[dict[str, str]]:
    tail = f"/flavors/{quote(flavorid, safe='')}"
    return [
        {"rel": "self", "href": call.url("/v2.1" + tail)},
        {"rel": "bookmark", "href": call.url(tail)},
    ]


def summary(call: Call, flavor: Flavor) -> dict[str, Any]:
    """One entry of GET /flavors."""
    out: dict[str, Any] = {"id": flavor.flavorid, "name": flavor.name, "links": links(call, flavor.flavorid)}
    if call.version >= "2.55":
        out["description"] = flavor.description
    return out


def detail(call: Call, flavor: Flavor, *, with_extra_specs: bool) -> dict[str, Any]:
    """A flavor whole (show, create, update and GET /flavors/detail); `with_extra_specs`
    says whether this caller may read them (they appear from 2.61)."""
    out: dict[str, Any] = {
        "id": flavor.flavorid,
        "name": flavor.name,
        "ram": flavor.memory_mb,
        "disk": flavor.root_gb,
        # before 2.75 Nova writes "no swap" as an empty string
        "swap": flavor.swap if call.version >= "2.75" else (flavor.swap or ""),
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": flavor.disabled,
        "vcpus": flavor.vcpus,
        "os-flavor-access:is_public": flavor.is_public,
        "rxtx_factor": flavor.rxtx_factor,
        "links": links(call, flavor.flavorid),
    }
    if call.version >= "2.55":
        out["description"] = flavor.description
    if call.version >= "2.61" and with_extra_specs:
        out["extra_specs"] = extra_specs(flavor)
    return out


def access_list(flavor: Flavor) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor.flavorid, "tenant_id": grant.project_id} for grant in flavor.projects]}
