"""/v3/endpoints."""

from __future__ import annotations

from typing import Any, get_args

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, keystone_fault

from ..backend import catalog as backend
from ..schemas.catalog import EndpointCreate, EndpointUpdate, Interface
from ..views import catalog as views
from ..views.common import collection

api = ApiRouter(keystone_fault)


@api.route("POST", "/v3/endpoints", status=201)
def create_endpoint(call: Call) -> dict[str, Any]:
    call.authorize("identity:create_endpoint")
    body = call.body(EndpointCreate, "endpoint")
    return {"endpoint": views.endpoint(call, backend.create_endpoint(call.db, body))}


@api.route("GET", "/v3/endpoints")
def list_endpoints(call: Call) -> dict[str, Any]:
    call.authorize("identity:list_endpoints")
    filters = {k: call.query.get(k) for k in ("interface", "service_id", "region_id")}
    if filters["interface"] is not None and filters["interface"] not in get_args(Interface):
        raise BadRequest(f"Invalid input for field 'interface': {filters['interface']!r} is not one of {list(get_args(Interface))}.")
    rows = backend.list_endpoints(call.db, filters)
    return collection(call, "endpoints", [views.endpoint(call, r) for r in rows])


@api.route("GET", "/v3/endpoints/{endpoint_id}")
def show_endpoint(call: Call) -> dict[str, Any]:
    call.authorize("identity:get_endpoint")
    return {"endpoint": views.endpoint(call, backend.get_endpoint(call.db, call.params["endpoint_id"]))}


@api.route("PATCH", "/v3/endpoints/{endpoint_id}")
def update_endpoint(call: Call) -> dict[str, Any]:
    call.authorize("identity:update_endpoint")
    body = call.body(EndpointUpdate, "endpoint")
    return {"endpoint": views.endpoint(call, backend.update_endpoint(call.db, call.params["endpoint_id"], body))}


@api.route("DELETE", "/v3/endpoints/{endpoint_id}")
def delete_endpoint(call: Call) -> None:
    call.authorize("identity:delete_endpoint")
    backend.delete_endpoint(call.db, call.params["endpoint_id"])
