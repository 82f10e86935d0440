"""/v2.0/auto-allocated-topology/{project_id}: a project's topology, made on the first GET
(`?fields=dry-run` only checks that it could be); DELETE takes it down.

As in Neutron: a project id of "None" means the caller's project; anyone but an admin
asking for another project is refused before any policy rule (403 NotAuthorized); any
`fields` other than dry-run is refused."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import NotFound, neutron_fault

from ..backend import auto_allocated_topology as backend
from ..backend.common import Viewer
from ..common.authorize import authorize_or_hide, owner_target
from ..common.listing import fields_of
from ..faults import BadRequest, NotAuthorized
from ..views import auto_allocated_topology as views

api = ApiRouter(neutron_fault)

ITEM = "/v2.0/auto-allocated-topology/{project_id}"
DRY_RUN = "dry-run"


def project_asked_for(call: Call, rule: str) -> str:
    """The project of the URL, once the caller may `rule` it (404 if they may not even
    see it, as Neutron hides what the show rule refuses)."""
    call.require_auth()
    project_id = call.params["project_id"]
    if project_id == "None":  # clients that know no project send this: the caller's own
        project_id = call.ctx.project_id or ""
    if not call.ctx.is_admin and project_id != call.ctx.project_id:
        raise NotAuthorized()
    target = owner_target(project_id)
    authorize_or_hide(call, rule, target, "get_auto_allocated_topology", NotFound("The resource could not be found."))
    return project_id


# a write: the first GET makes the topology
@api.route("GET", ITEM, tx="write")
def show_auto_allocated_topology(call: Call) -> dict[str, Any]:
    project_id = project_asked_for(call, "get_auto_allocated_topology")
    fields = fields_of(call) or []
    viewer = Viewer.of(call.ctx)
    if DRY_RUN in fields:
        backend.check_requirements(call.db, viewer)
        return {"auto_allocated_topology": views.topology(views.DRY_RUN_PASSED, project_id)}
    if fields:
        raise BadRequest("auto_allocate", "Unrecognized field")
    network_id = backend.topology_network(call.db, viewer, project_id)
    return {"auto_allocated_topology": views.topology(network_id, project_id)}


@api.route("DELETE", ITEM, status=204)
def delete_auto_allocated_topology(call: Call) -> None:
    project_id = project_asked_for(call, "delete_auto_allocated_topology")
    viewer = Viewer.of(call.ctx)
    if backend.find(call.db, project_id) is None:
        # Neutron's DELETE fetches the topology first (making it, then taking it down): with
        # none to make, it answers the GET's 409; with one, nothing is left either way
        backend.makings(call.db, viewer)
        return
    backend.delete_topology(call.db, viewer, project_id)
