"""/v3/services."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import keystone_fault

from ..backend import catalog as backend
from ..schemas.catalog import ServiceCreate, ServiceUpdate
from ..views import catalog as views
from ..views.common import collection

api = ApiRouter(keystone_fault)


@api.route("POST", "/v3/services", status=201)
def create_service(call: Call) -> dict[str, Any]:
    call.authorize("identity:create_service")
    body = call.body(ServiceCreate, "service")
    return {"service": views.service(call, backend.create_service(call.db, body))}


@api.route("GET", "/v3/services")
def list_services(call: Call) -> dict[str, Any]:
    call.authorize("identity:list_services")
    rows = backend.list_services(call.db, type=call.query.get("type"), name=call.query.get("name"))
    return collection(call, "services", [views.service(call, r) for r in rows])


@api.route("GET", "/v3/services/{service_id}")
def show_service(call: Call) -> dict[str, Any]:
    call.authorize("identity:get_service")
    return {"service": views.service(call, backend.get_service(call.db, call.params["service_id"]))}


@api.route("PATCH", "/v3/services/{service_id}")
def update_service(call: Call) -> dict[str, Any]:
    call.authorize("identity:update_service")
    body = call.body(ServiceUpdate, "service")
    return {"service": views.service(call, backend.update_service(call.db, call.params["service_id"], body))}


@api.route("DELETE", "/v3/services/{service_id}")
def delete_service(call: Call) -> None:
    call.authorize("identity:delete_service")
    backend.delete_service(call.db, call.params["service_id"])
