"""/v2.0/networks: list, show, create (one or a bulk), update, delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from ..backend import networks as backend
from ..backend.common import Viewer
from ..common.attributes import parse_create, parse_update
from ..common.authorize import authorize, authorize_attributes, authorize_or_hide, owner_target
from ..common.handlers import created, owner, shown
from ..common.listing import ListQuery
from ..common.standard import check_revision
from ..faults import NetworkNotFound
from ..models import Network
from ..schemas.networks import ATTRIBUTES, NetworkCreate, NetworkUpdate
from ..views import networks as views

api = ApiRouter(neutron_fault)

COLLECTION = "/v2.0/networks"
ITEM = "/v2.0/networks/{network_id}"


def viewer(call: Call) -> Viewer:
    call.require_auth()
    return Viewer.of(call.ctx)


def visible_network(call: Call, rule: str) -> Network:
    """The network of the URL, if the caller may see it (404 otherwise) and do `rule`
    with it (403 otherwise)."""
    network_id = call.params["network_id"]
    network = backend.get_network(call.db, viewer(call), network_id)
    authorize_or_hide(call, rule, backend.policy_target(network, call.ctx.project_id), "get_network", NetworkNotFound(network_id))
    return network


@api.route("GET", COLLECTION)
def list_networks(call: Call) -> dict[str, Any]:
    who = viewer(call)
    query = ListQuery.parse(call, backend.COLLECTION)
    result = query.run(call.db, select(Network).where(backend.visible(who)))
    return query.respond(call, [views.network(call, row) for row in result.rows], result)


@api.route("GET", ITEM)
def show_network(call: Call) -> dict[str, Any]:
    return shown(call, "network", views.network(call, visible_network(call, "get_network")))


@api.route("POST", COLLECTION, status=201)
def create_network(call: Call) -> dict[str, Any]:
    made = []
    for item in parse_create(call, "network", NetworkCreate, known=ATTRIBUTES):
        project_id = owner(call, item)
        target = owner_target(project_id)
        authorize(call, "create_network", target)
        authorize_attributes(call, "create", "network", item.explicit, target)
        made.append(backend.create_network(call.db, project_id, item.values))
    return created(call, "network", [views.network(call, row) for row in made])


@api.route("PUT", ITEM)
def update_network(call: Call) -> dict[str, Any]:
    item = parse_update(call, "network", NetworkUpdate, known=ATTRIBUTES)
    network = visible_network(call, "update_network")
    authorize_attributes(call, "update", "network", item.explicit, backend.policy_target(network, call.ctx.project_id))
    check_revision(call, network)
    return {"network": views.network(call, backend.update_network(call.db, network, item.values))}


@api.route("DELETE", ITEM, status=204)
def delete_network(call: Call) -> None:
    network = visible_network(call, "delete_network")
    check_revision(call, network)
    backend.delete_network(call.db, network)
