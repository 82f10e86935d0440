"""Discovery: GET /networking/ (Neutron's version document), GET /v2.0 (the core
resources), /v2.0/extensions and /v2.0/availability_zones."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from .. import extensions
from ..backend.networks import AVAILABILITY_ZONES
from ..common.authorize import authorize
from ..faults import ExtensionNotFound

api = ApiRouter(neutron_fault)

CORE_RESOURCES = (("network", "networks"), ("subnet", "subnets"), ("port", "ports"))


@api.route("GET", "/", tx="none")
def list_versions(call: Call) -> dict[str, Any]:
    # clients add /v2.0 to the catalog's endpoint themselves; this answers without a token
    return {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": call.url("/v2.0/")}]}]}


@api.route("GET", "/v2.0", tx="none")
def list_resources(call: Call) -> dict[str, Any]:
    call.require_auth()
    return {
        "resources": [
            {"name": name, "collection": collection, "links": [{"rel": "self", "href": call.url(f"/v2.0/{collection}")}]}
            for name, collection in CORE_RESOURCES
        ]
    }


@api.route("GET", "/v2.0/extensions", tx="none")
def list_extensions(call: Call) -> dict[str, Any]:
    call.require_auth()
    return {"extensions": [extension.view() for extension in extensions.EXTENSIONS]}


@api.route("GET", "/v2.0/extensions/{alias}", tx="none")
def show_extension(call: Call) -> dict[str, Any]:
    call.require_auth()
    extension = extensions.find(call.params["alias"])
    if extension is None:
        raise ExtensionNotFound(f"Extension with alias {call.params['alias']} does not exist")
    return {"extension": extension.view()}


@api.route("GET", "/v2.0/availability_zones", tx="none")
def list_availability_zones(call: Call) -> dict[str, Any]:
    authorize(call, "get_availability_zone", {"project_id": call.ctx.project_id})
    # networks (DHCP) and routers (L3) are served in the cloud's one zone
    zones = [
        {"name": zone, "resource": resource, "state": "available"} for zone in AVAILABILITY_ZONES for resource in ("network", "router")
    ]
    wanted = {key: call.query.getlist(key) for key in ("name", "resource", "state") if key in call.query}
    return {"availability_zones": [zone for zone in zones if all(zone[key] in values for key, values in wanted.items())]}
