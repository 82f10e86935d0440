"""/v2.0/routers: list, show, create (one or a bulk), update, delete; the actions
add/remove_router_interface and add/remove_extraroutes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from ..backend import agents
from ..backend import routers as backend
from ..backend.common import Viewer
from ..common.attributes import parse_create, parse_update
from ..common.authorize import authorize, authorize_attributes, authorize_or_hide, owner_target
from ..common.handlers import created, owner, shown
from ..common.listing import ListQuery
from ..common.standard import check_revision
from ..faults import RouterNotFound
from ..models import Router
from ..schemas.routers import ATTRIBUTES, RouterCreate, RouterUpdate, gateway_attributes, parse_interface, parse_routes_body
from ..views import routers as views

api = ApiRouter(neutron_fault)

COLLECTION = "/v2.0/routers"
ITEM = "/v2.0/routers/{router_id}"
L3_AGENT = "L3 agent"


def viewer(call: Call) -> Viewer:
    call.require_auth()
    return Viewer.of(call.ctx)


def visible_router(call: Call, rule: str, *, lock: bool = False) -> Router:
    router_id = call.params["router_id"]
    router = backend.get_router(call.db, viewer(call), router_id, lock=lock)
    authorize_or_hide(call, rule, backend.policy_target(router), "get_router", RouterNotFound(router_id))
    return router


def render(call: Call, rows: list[Router]) -> list[dict[str, Any]]:
    """Views of routers, with their gateway ports read in one query."""
    gateways = backend.gateway_ports(call.db, [row.id for row in rows])
    zones = agents.zones(call.db, L3_AGENT)
    return [views.router(call, row, gateways.get(row.id), zones) for row in rows]


@api.route("GET", COLLECTION)
def list_routers(call: Call) -> dict[str, Any]:
    query = ListQuery.parse(call, backend.COLLECTION)
    result = query.run(call.db, select(Router).where(backend.visible(viewer(call))))
    return query.respond(call, render(call, result.rows), result)


@api.route("GET", ITEM)
def show_router(call: Call) -> dict[str, Any]:
    return shown(call, "router", render(call, [visible_router(call, "get_router")])[0])


@api.route("POST", COLLECTION, status=201)
def create_router(call: Call) -> dict[str, Any]:
    who = viewer(call)
    made = []
    for item in parse_create(call, "router", RouterCreate, known=ATTRIBUTES):
        project_id = owner(call, item)
        target = owner_target(project_id)
        authorize(call, "create_router", target)
        authorize_attributes(call, "create", "router", gateway_attributes(item.explicit, item.values.external_gateway_info), target)
        made.append(backend.create_router(call.db, who, project_id, item.values))
    return created(call, "router", render(call, made))


@api.route("PUT", ITEM)
def update_router(call: Call) -> dict[str, Any]:
    item = parse_update(call, "router", RouterUpdate, known=ATTRIBUTES)
    router = visible_router(call, "update_router", lock=True)
    names = gateway_attributes(item.explicit, item.values.external_gateway_info)
    authorize_attributes(call, "update", "router", names, backend.policy_target(router))
    check_revision(call, router)
    return {"router": render(call, [backend.update_router(call.db, viewer(call), router, item.values)])[0]}


@api.route("DELETE", ITEM, status=204)
def delete_router(call: Call) -> None:
    router = visible_router(call, "delete_router", lock=True)
    check_revision(call, router)
    backend.delete_router(call.db, router)


@api.route("PUT", ITEM + "/add_router_interface")
def add_router_interface(call: Call) -> dict[str, Any]:
    router = visible_router(call, "add_router_interface", lock=True)
    wanted = parse_interface(call.json(), removing=False)
    if wanted.port_id is not None:
        return backend.add_interface_by_port(call.db, viewer(call), router, wanted.port_id)
    assert wanted.subnet_id is not None
    return backend.add_interface_by_subnet(call.db, viewer(call), router, wanted.subnet_id)


@api.route("PUT", ITEM + "/remove_router_interface")
def remove_router_interface(call: Call) -> dict[str, Any]:
    router = visible_router(call, "remove_router_interface", lock=True)
    wanted = parse_interface(call.json(), removing=True)
    if wanted.port_id is not None:
        return backend.remove_interface_by_port(call.db, viewer(call), router, wanted.port_id, wanted.subnet_id)
    assert wanted.subnet_id is not None
    return backend.remove_interface_by_subnet(call.db, viewer(call), router, wanted.subnet_id)


@api.route("PUT", ITEM + "/add_extraroutes")
def add_extraroutes(call: Call) -> dict[str, Any]:
    router = visible_router(call, "add_extraroutes", lock=True)
    backend.add_routes(call.db, router, parse_routes_body(call.json()))
    return {"router": render(call, [router])[0]}


@api.route("PUT", ITEM + "/remove_extraroutes")
def remove_extraroutes(call: Call) -> dict[str, Any]:
    router = visible_router(call, "remove_extraroutes", lock=True)
    backend.remove_routes(call.db, router, parse_routes_body(call.json()))
    return {"router": render(call, [router])[0]}
