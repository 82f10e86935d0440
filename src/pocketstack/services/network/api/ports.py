"""/v2.0/ports: list, show, create (one or a bulk), update, delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from ..backend import networks as network_backend
from ..backend import ports as backend
from ..backend.common import Viewer
from ..common.attributes import parse_create, parse_update
from ..common.authorize import authorize_attributes, authorize_or_hide
from ..common.handlers import created, owner, shown
from ..common.listing import ListQuery
from ..common.standard import check_revision
from ..faults import NetworkNotFound, PortNotFound
from ..models import Port
from ..schemas.ports import ATTRIBUTES, PortCreate, PortUpdate
from ..views import ports as views

api = ApiRouter(neutron_fault)

COLLECTION = "/v2.0/ports"
ITEM = "/v2.0/ports/{port_id}"


def viewer(call: Call) -> Viewer:
    call.require_auth()
    return Viewer.of(call.ctx)


def visible_port(call: Call, rule: str) -> Port:
    port_id = call.params["port_id"]
    port = backend.get_port(call.db, viewer(call), port_id)
    authorize_or_hide(call, rule, backend.policy_target(port, port.network, caller=call.ctx.project_id), "get_port", PortNotFound(port_id))
    return port


def _address_attributes(explicit: set[str], fixed_ips: list[dict[str, str]] | None) -> set[str]:
    """fixed_ips entries naming an address or a subnet have their own rules
    (create_port:fixed_ips:ip_address, ...:subnet_id)."""
    names = set(explicit)
    for entry in fixed_ips or []:
        names.update(f"fixed_ips:{key}" for key in entry)
    return names


@api.route("GET", COLLECTION)
def list_ports(call: Call) -> dict[str, Any]:
    query = ListQuery.parse(call, backend.COLLECTION)
    result = query.run(call.db, select(Port).where(backend.visible(viewer(call))))
    return query.respond(call, [views.port(call, row) for row in result.rows], result)


@api.route("GET", ITEM)
def show_port(call: Call) -> dict[str, Any]:
    return shown(call, "port", views.port(call, visible_port(call, "get_port")))


@api.route("POST", COLLECTION, status=201)
def create_port(call: Call) -> dict[str, Any]:
    made = []
    who = viewer(call)
    for item in parse_create(call, "port", PortCreate, known=ATTRIBUTES):
        project_id = owner(call, item)
        spec = item.values
        network = network_backend.network_for(call.db, who, spec.network_id, project_id)
        target = backend.policy_target(None, network, caller=call.ctx.project_id, project_id=project_id, device_owner=spec.device_owner)
        authorize_or_hide(call, "create_port", target, "get_network", NetworkNotFound(spec.network_id))
        authorize_attributes(call, "create", "port", _address_attributes(item.explicit, spec.fixed_ips), target)
        made.append(backend.create_port(call.db, who, project_id, network, spec))
    return created(call, "port", [views.port(call, row) for row in made])


@api.route("PUT", ITEM)
def update_port(call: Call) -> dict[str, Any]:
    item = parse_update(call, "port", PortUpdate, known=ATTRIBUTES)
    port = visible_port(call, "update_port")
    device_owner = item.values.device_owner if "device_owner" in item.explicit else None
    target = backend.policy_target(port, port.network, caller=call.ctx.project_id, device_owner=device_owner)
    authorize_attributes(call, "update", "port", _address_attributes(item.explicit, item.values.fixed_ips), target)
    check_revision(call, port)
    return {"port": views.port(call, backend.update_port(call.db, viewer(call), port, item.values))}


@api.route("DELETE", ITEM, status=204)
def delete_port(call: Call) -> None:
    port = visible_port(call, "delete_port")
    check_revision(call, port)
    backend.delete_port(call.db, port)
