"""/v2.0/floatingips: list, show, create (one or a bulk), update (associate,
disassociate, describe), delete; /v2.0/floatingip_pools."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from ..backend import floating_ips as backend
from ..backend.common import Viewer
from ..common.attributes import parse_create, parse_update
from ..common.authorize import authorize, authorize_attributes, authorize_or_hide, owner_target
from ..common.handlers import created, owner, shown
from ..common.listing import ListQuery, fields_of, only
from ..common.standard import check_revision
from ..faults import FloatingIPNotFound
from ..models import FloatingIp
from ..schemas.floating_ips import ATTRIBUTES, FloatingIpCreate, FloatingIpUpdate
from ..views import floating_ips as views

api = ApiRouter(neutron_fault)

COLLECTION = "/v2.0/floatingips"
ITEM = "/v2.0/floatingips/{floatingip_id}"


def viewer(call: Call) -> Viewer:
    call.require_auth()
    return Viewer.of(call.ctx)


def visible_floating_ip(call: Call, rule: str) -> FloatingIp:
    floatingip_id = call.params["floatingip_id"]
    fip = backend.get_floating_ip(call.db, viewer(call), floatingip_id)
    authorize_or_hide(call, rule, backend.policy_target(fip), "get_floatingip", FloatingIPNotFound(floatingip_id))
    return fip


@api.route("GET", COLLECTION)
def list_floating_ips(call: Call) -> dict[str, Any]:
    query = ListQuery.parse(call, backend.COLLECTION)
    result = query.run(call.db, select(FloatingIp).where(backend.visible(viewer(call))))
    return query.respond(call, [views.floating_ip(row) for row in result.rows], result)


@api.route("GET", ITEM)
def show_floating_ip(call: Call) -> dict[str, Any]:
    return shown(call, "floatingip", views.floating_ip(visible_floating_ip(call, "get_floatingip")))


@api.route("POST", COLLECTION, status=201)
def create_floating_ip(call: Call) -> dict[str, Any]:
    who = viewer(call)
    made = []
    for item in parse_create(call, "floatingip", FloatingIpCreate, known=ATTRIBUTES):
        project_id = owner(call, item)
        target = owner_target(project_id)
        authorize(call, "create_floatingip", target)
        authorize_attributes(call, "create", "floatingip", item.explicit, target)
        made.append(backend.create_floating_ip(call.db, who, project_id, item.values))
    return created(call, "floatingip", [views.floating_ip(row) for row in made])


@api.route("PUT", ITEM)
def update_floating_ip(call: Call) -> dict[str, Any]:
    item = parse_update(call, "floatingip", FloatingIpUpdate, known=ATTRIBUTES)
    fip = visible_floating_ip(call, "update_floatingip")
    check_revision(call, fip)
    return {"floatingip": views.floating_ip(backend.update_floating_ip(call.db, viewer(call), fip, item.values))}


@api.route("DELETE", ITEM, status=204)
def delete_floating_ip(call: Call) -> None:
    fip = visible_floating_ip(call, "delete_floatingip")
    check_revision(call, fip)
    backend.delete_floating_ip(call.db, fip)


@api.route("GET", "/v2.0/floatingip_pools")
def list_floating_ip_pools(call: Call) -> dict[str, Any]:
    """One pool per IPv4 subnet of an external network (project_id: the caller's, as
    Neutron answers)."""
    who = viewer(call)
    authorize(call, "get_floatingip_pool", {"project_id": who.project_id, "tenant_id": who.project_id})
    pools = [
        {
            "subnet_id": subnet.id,
            "subnet_name": subnet.name,
            "network_id": subnet.network_id,
            "cidr": subnet.cidr,
            "project_id": who.project_id,
        }
        for subnet in backend.pools(call.db, who)
    ]
    return {"floatingip_pools": [only(fields_of(call), pool) for pool in pools]}
