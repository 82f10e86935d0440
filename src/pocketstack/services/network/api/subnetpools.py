"""/v2.0/subnetpools: list, show, create (one or a bulk), update, delete, and the
add_prefixes / remove_prefixes actions (subnetpool-prefix-ops)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from ..backend import subnetpools as backend
from ..backend.common import Viewer
from ..common.attributes import parse_create, parse_update
from ..common.authorize import authorize, authorize_attributes, authorize_or_hide, owner_target
from ..common.handlers import created, owner, shown
from ..common.listing import ListQuery
from ..common.standard import check_revision
from ..faults import SubnetPoolNotFound
from ..models import SubnetPool
from ..schemas.subnetpools import ATTRIBUTES, SubnetPoolCreate, SubnetPoolUpdate, parse_prefixes_body
from ..views import subnetpools as views

api = ApiRouter(neutron_fault)

COLLECTION = "/v2.0/subnetpools"
ITEM = "/v2.0/subnetpools/{subnetpool_id}"


def viewer(call: Call) -> Viewer:
    call.require_auth()
    return Viewer.of(call.ctx)


def visible_pool(call: Call, rule: str, *, lock: bool = False) -> SubnetPool:
    pool_id = call.params["subnetpool_id"]
    pool = backend.get_pool(call.db, viewer(call), pool_id, lock=lock)
    authorize_or_hide(call, rule, backend.policy_target(pool), "get_subnetpool", SubnetPoolNotFound(pool_id))
    return pool


@api.route("GET", COLLECTION)
def list_subnetpools(call: Call) -> dict[str, Any]:
    query = ListQuery.parse(call, backend.COLLECTION)
    result = query.run(call.db, select(SubnetPool).where(backend.visible(viewer(call))))
    return query.respond(call, [views.subnetpool(row) for row in result.rows], result)


@api.route("GET", ITEM)
def show_subnetpool(call: Call) -> dict[str, Any]:
    return shown(call, "subnetpool", views.subnetpool(visible_pool(call, "get_subnetpool")))


@api.route("POST", COLLECTION, status=201)
def create_subnetpool(call: Call) -> dict[str, Any]:
    made = []
    for item in parse_create(call, "subnetpool", SubnetPoolCreate, known=ATTRIBUTES):
        project_id = owner(call, item)
        target = owner_target(project_id)
        authorize(call, "create_subnetpool", target)
        authorize_attributes(call, "create", "subnetpool", item.explicit, target)
        made.append(backend.create_pool(call.db, project_id, item.values))
    return created(call, "subnetpool", [views.subnetpool(row) for row in made])


@api.route("PUT", ITEM)
def update_subnetpool(call: Call) -> dict[str, Any]:
    item = parse_update(call, "subnetpool", SubnetPoolUpdate, known=ATTRIBUTES)
    pool = visible_pool(call, "update_subnetpool", lock=True)
    authorize_attributes(call, "update", "subnetpool", item.explicit, backend.policy_target(pool))
    check_revision(call, pool)
    return {"subnetpool": views.subnetpool(backend.update_pool(call.db, pool, item.values))}


@api.route("DELETE", ITEM, status=204)
def delete_subnetpool(call: Call) -> None:
    pool = visible_pool(call, "delete_subnetpool", lock=True)
    check_revision(call, pool)
    backend.delete_pool(call.db, pool)


@api.route("PUT", ITEM + "/add_prefixes")
def add_prefixes(call: Call) -> dict[str, Any]:
    prefixes = parse_prefixes_body(call.json())
    pool = backend.add_prefixes(call.db, visible_pool(call, "add_prefixes", lock=True), prefixes)
    return {"prefixes": list(pool.prefixes)}


@api.route("PUT", ITEM + "/remove_prefixes")
def remove_prefixes(call: Call) -> dict[str, Any]:
    prefixes = parse_prefixes_body(call.json())
    pool = backend.remove_prefixes(call.db, visible_pool(call, "remove_prefixes", lock=True), prefixes)
    return {"prefixes": list(pool.prefixes)}
