"""/v2.0/rbac-policies: share a network with one project or all (access_as_shared), or
offer it as an external network (access_as_external)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, neutron_fault

from ..backend import networks, quotas
from ..backend import rbac as backend
from ..backend.common import Viewer
from ..common.attributes import parse_create, parse_update
from ..common.authorize import authorize, authorize_attributes, authorize_or_hide
from ..common.handlers import created, owner, shown
from ..common.listing import ListQuery
from ..faults import RbacPolicyNotFound
from ..models import Network, NetworkRbac
from ..schemas.rbac import ATTRIBUTES, RbacCreate, RbacUpdate

api = ApiRouter(neutron_fault)

COLLECTION = "/v2.0/rbac-policies"
ITEM = "/v2.0/rbac-policies/{policy_id}"


def view(entry: NetworkRbac) -> dict[str, Any]:
    return {
        "id": entry.id,
        "project_id": entry.project_id,
        "tenant_id": entry.project_id,
        "object_type": "network",
        "object_id": entry.object_id,
        "action": entry.action,
        "target_tenant": entry.target_project,
        "target_project": entry.target_project,
    }


def _target(project_id: str, target: str | None) -> dict[str, Any]:
    return {"project_id": project_id, "tenant_id": project_id, "target_tenant": target, "target_project": target}


def _one_target(target_tenant: str | None, target_project: str | None) -> str | None:
    if target_tenant and target_project and target_tenant != target_project:
        raise BadRequest("'target_tenant' and 'target_project' do not match")
    return target_project or target_tenant


def visible_policy(call: Call, rule: str) -> NetworkRbac:
    call.require_auth()
    policy_id = call.params["policy_id"]
    entry = backend.get_policy(call.db, Viewer.of(call.ctx), policy_id)
    authorize_or_hide(call, rule, _target(entry.project_id, entry.target_project), "get_rbac_policy", RbacPolicyNotFound(policy_id))
    return entry


@api.route("GET", COLLECTION)
def list_rbac_policies(call: Call) -> dict[str, Any]:
    call.require_auth()
    query = ListQuery.parse(call, backend.COLLECTION)
    result = query.run(call.db, select(NetworkRbac).where(backend.visible(Viewer.of(call.ctx))))
    return query.respond(call, [view(entry) for entry in result.rows], result, COLLECTION)


@api.route("GET", ITEM)
def show_rbac_policy(call: Call) -> dict[str, Any]:
    return shown(call, "rbac_policy", view(visible_policy(call, "get_rbac_policy")))


@api.route("POST", COLLECTION, status=201)
def create_rbac_policy(call: Call) -> dict[str, Any]:
    who = Viewer.of(call.ctx)
    made = []
    for item in parse_create(call, "rbac_policy", RbacCreate, known=ATTRIBUTES):
        project_id = owner(call, item)
        spec = item.values
        target = _one_target(spec.target_tenant, spec.target_project)
        if target is None:
            raise BadRequest("Failed to parse request. Required attribute 'target_tenant' not specified")
        policy_target = _target(project_id, target)
        authorize(call, "create_rbac_policy", policy_target)
        # a wildcard ("*") is the admin's to grant (create_rbac_policy:target_tenant)
        authorize_attributes(call, "create", "rbac_policy", item.explicit | {"target_tenant"}, policy_target)
        network = None
        if spec.object_type == "network":
            network = call.db.scalars(select(Network).where(Network.id == spec.object_id, networks.visible(who))).first()
        network = backend.check_new(who, spec.object_type, spec.action, network, spec.object_id)
        quotas.check(call.db, project_id, "rbac_policy")
        made.append(backend.grant(call.db, network, spec.action, target, project_id))
    return created(call, "rbac_policy", [view(entry) for entry in made])


@api.route("PUT", ITEM)
def update_rbac_policy(call: Call) -> dict[str, Any]:
    item = parse_update(call, "rbac_policy", RbacUpdate, known=ATTRIBUTES)
    entry = visible_policy(call, "update_rbac_policy")
    target = _one_target(item.values.target_tenant, item.values.target_project)
    if target is None:
        return {"rbac_policy": view(entry)}
    authorize_attributes(call, "update", "rbac_policy", item.explicit, _target(entry.project_id, target))
    if target != entry.target_project:
        backend.keep_default_open(entry)
    return {"rbac_policy": view(backend.retarget(call.db, entry, target))}


@api.route("DELETE", ITEM, status=204)
def delete_rbac_policy(call: Call) -> None:
    entry = visible_policy(call, "delete_rbac_policy")
    backend.keep_default_open(entry)
    backend.revoke(call.db, entry)
