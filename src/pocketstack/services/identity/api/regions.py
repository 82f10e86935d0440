"""/v3/regions."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, keystone_fault

from ..backend import regions as backend
from ..schemas.catalog import RegionCreate, RegionUpdate
from ..views import catalog as views
from ..views.common import collection

api = ApiRouter(keystone_fault)


@api.route("POST", "/v3/regions", status=201)
def create_region(call: Call) -> dict[str, Any]:
    call.authorize("identity:create_region")
    body = call.body(RegionCreate, "region")
    return {"region": views.region(call, backend.create_region(call.db, body.id, body))}


@api.route("PUT", "/v3/regions/{region_id}", status=201)
def create_region_with_id(call: Call) -> dict[str, Any]:
    call.authorize("identity:create_region")
    body = call.body(RegionCreate, "region")
    region_id = call.params["region_id"]
    if body.id is not None and body.id != region_id:
        raise BadRequest(f'Conflicting region IDs specified: "{region_id}" != "{body.id}".')
    return {"region": views.region(call, backend.create_region(call.db, region_id, body))}


@api.route("GET", "/v3/regions")
def list_regions(call: Call) -> dict[str, Any]:
    call.authorize("identity:list_regions")
    rows = backend.list_regions(call.db, call.query.get("parent_region_id"))
    return collection(call, "regions", [views.region(call, r) for r in rows])


@api.route("GET", "/v3/regions/{region_id}")
def show_region(call: Call) -> dict[str, Any]:
    call.authorize("identity:get_region")
    return {"region": views.region(call, backend.get_region(call.db, call.params["region_id"]))}


@api.route("PATCH", "/v3/regions/{region_id}")
def update_region(call: Call) -> dict[str, Any]:
    call.authorize("identity:update_region")
    body = call.body(RegionUpdate, "region")
    return {"region": views.region(call, backend.update_region(call.db, call.params["region_id"], body))}


@api.route("DELETE", "/v3/regions/{region_id}")
def delete_region(call: Call) -> None:
    call.authorize("identity:delete_region")
    backend.delete_region(call.db, call.params["region_id"])
