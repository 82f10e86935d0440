"""/v2.0/subnets: list, show, create (one or a bulk), update, delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from ..backend import networks as network_backend
from ..backend import subnets as backend
from ..backend.common import Viewer
from ..common.attributes import parse_create, parse_update
from ..common.authorize import authorize_attributes, authorize_or_hide
from ..common.handlers import created, owner, shown
from ..common.listing import ListQuery
from ..common.standard import check_revision
from ..faults import NetworkNotFound, SubnetNotFound
from ..models import Subnet
from ..schemas.subnets import ATTRIBUTES, SubnetCreate, SubnetUpdate
from ..views import subnets as views

api = ApiRouter(neutron_fault)

COLLECTION = "/v2.0/subnets"
ITEM = "/v2.0/subnets/{subnet_id}"


def viewer(call: Call) -> Viewer:
    call.require_auth()
    return Viewer.of(call.ctx)


def visible_subnet(call: Call, rule: str) -> Subnet:
    subnet_id = call.params["subnet_id"]
    subnet = backend.get_subnet(call.db, viewer(call), subnet_id)
    authorize_or_hide(call, rule, backend.policy_target(subnet, call.ctx.project_id), "get_subnet", SubnetNotFound(subnet_id))
    return subnet


@api.route("GET", COLLECTION)
def list_subnets(call: Call) -> dict[str, Any]:
    query = ListQuery.parse(call, backend.COLLECTION)
    result = query.run(call.db, select(Subnet).where(backend.visible(viewer(call))))
    return query.respond(call, [views.subnet(call, row) for row in result.rows], result)


@api.route("GET", ITEM)
def show_subnet(call: Call) -> dict[str, Any]:
    return shown(call, "subnet", views.subnet(call, visible_subnet(call, "get_subnet")))


@api.route("POST", COLLECTION, status=201)
def create_subnet(call: Call) -> dict[str, Any]:
    made = []
    for item in parse_create(call, "subnet", SubnetCreate, known=ATTRIBUTES):
        project_id = owner(call, item)
        network_id = item.values.network_id
        network = network_backend.network_for(call.db, viewer(call), network_id, project_id)
        target = {**network_backend.policy_target(network, call.ctx.project_id), "project_id": project_id, "tenant_id": project_id}
        authorize_or_hide(call, "create_subnet", target, "get_network", NetworkNotFound(network_id))
        authorize_attributes(call, "create", "subnet", item.explicit, target)
        pool = backend.pool_for(call.db, viewer(call), item.values)
        made.append(backend.create_subnet(call.db, project_id, network, item.values, pool))
    return created(call, "subnet", [views.subnet(call, row) for row in made])


@api.route("PUT", ITEM)
def update_subnet(call: Call) -> dict[str, Any]:
    item = parse_update(call, "subnet", SubnetUpdate, known=ATTRIBUTES)
    subnet = visible_subnet(call, "update_subnet")
    authorize_attributes(call, "update", "subnet", item.explicit, backend.policy_target(subnet, call.ctx.project_id))
    check_revision(call, subnet)
    return {"subnet": views.subnet(call, backend.update_subnet(call.db, subnet, item.values))}


@api.route("DELETE", ITEM, status=204)
def delete_subnet(call: Call) -> None:
    subnet = visible_subnet(call, "delete_subnet")
    check_revision(call, subnet)
    backend.delete_subnet(call.db, subnet)
