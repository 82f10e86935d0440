"""Network RBAC policies: who besides its owner may use a network (Neutron's
network RBAC, neutron/db/rbac_db_mixin.py and the checks of db_base_plugin_v2 and
external_net_db).

- access_as_shared to a project (or "*"): that project sees the network as shared, sees
  its subnets, and may put ports on it. `shared=True` on a network is the "*" entry.
- access_as_external to a project (or "*"): that project sees it as an external network
  (routers and floating IPs, later). `router:external=True` is the "*" entry; any
  external entry makes the network external.

Taking access away is refused while the project losing it still has ports on the
network that no other entry covers (409 RbacPolicyInUse, or InvalidSharedSetting when
it happens through `shared`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from ..common import standard
from ..common.listing import Attribute, Collection
from ..faults import DuplicateRbacPolicy, InvalidInput, NetworkNotFound, RbacPolicyInUse, RbacPolicyNotFound
from ..models import Network, NetworkRbac, Port
from .common import Viewer, try_insert

SHARED = "access_as_shared"
EXTERNAL = "access_as_external"
ACTIONS = (SHARED, EXTERNAL)
EVERYONE = "*"
OBJECT_TYPES = ("network",)
# ports of the network's own devices have no project of their own to lose access
OWNERLESS_PORTS = ("",)

COLLECTION = Collection(
    "rbac_policies",
    NetworkRbac,
    [
        Attribute("id", NetworkRbac.id),
        Attribute("project_id", NetworkRbac.project_id),
        Attribute("tenant_id", NetworkRbac.project_id),
        Attribute("object_id", NetworkRbac.object_id),
        Attribute("action", NetworkRbac.action),
        Attribute("target_tenant", NetworkRbac.target_project),
        Attribute("target_project", NetworkRbac.target_project),
        Attribute("object_type", clause=lambda values: true() if "network" in values else ~true(), sortable=False),
    ],
    tagged=False,
)


def accessible(project_id: str | None, action: str | None = None) -> Any:
    """SQL: ids of the networks an entry opens to this project (for one action, or any)."""
    stmt = select(NetworkRbac.object_id).where(NetworkRbac.target_project.in_([EVERYONE, project_id or EVERYONE]))
    return stmt.where(NetworkRbac.action == action) if action else stmt


def shared_with(network: Network, project_id: str | None) -> bool:
    """Is the network shared with this project (to everyone, or to it by name)?"""
    return any(e.action == SHARED and e.target_project in (EVERYONE, project_id) for e in network.rbac_entries)


def shown_as_shared(network: Network, project_id: str | None) -> bool:
    """`shared` as a caller sees it: shared with everyone, or, for another project, with it."""
    return network.shared or (project_id != network.project_id and shared_with(network, project_id))


def sync_flags(network: Network) -> None:
    """The network's flags follow its entries; who may use it changed: a new revision."""
    network.shared = any(e.action == SHARED and e.target_project == EVERYONE for e in network.rbac_entries)
    network.external = any(e.action == EXTERNAL for e in network.rbac_entries)
    if not network.external:
        network.is_default = False  # only an external network can be the default one
    standard.bump(network)


# -- entries ---------------------------------------------------------------------------------
def visible(viewer: Viewer) -> Any:
    """Policies are their granters' (admins see all)."""
    return true() if viewer.is_admin else NetworkRbac.project_id == viewer.project_id


def get_policy(db: Session, viewer: Viewer, policy_id: str) -> NetworkRbac:
    entry = db.scalars(select(NetworkRbac).where(NetworkRbac.id == policy_id, visible(viewer))).first()
    if entry is None:
        raise RbacPolicyNotFound(policy_id)
    return entry


def grant(db: Session, network: Network, action: str, target: str, granted_by: str) -> NetworkRbac:
    """Add an entry; the unique key refuses one that exists (409 DuplicateRbacPolicy)."""
    entry = NetworkRbac(id=str(uuid.uuid4()), project_id=granted_by, object_id=network.id, action=action, target_project=target)
    if not try_insert(db, entry):
        raise DuplicateRbacPolicy()
    db.refresh(network, ["rbac_entries"])
    sync_flags(network)
    return entry


def revoke(db: Session, entry: NetworkRbac) -> None:
    network = entry.network
    if entry.action == SHARED:
        ensure_no_stranded_ports(db, network, entry)
    network.rbac_entries.remove(entry)
    db.flush()
    sync_flags(network)
    db.flush()


def retarget(db: Session, entry: NetworkRbac, target: str) -> NetworkRbac:
    if target == entry.target_project:
        return entry
    if entry.action == SHARED:
        ensure_no_stranded_ports(db, entry.network, entry)
    clash = db.scalar(
        select(NetworkRbac.id).where(
            NetworkRbac.object_id == entry.object_id, NetworkRbac.action == entry.action, NetworkRbac.target_project == target
        )
    )
    if clash is not None:
        raise DuplicateRbacPolicy()
    entry.target_project = target
    db.flush()
    sync_flags(entry.network)
    return entry


def keep_default_open(entry: NetworkRbac) -> None:
    """The default external network stays external to everyone: its "*" entry cannot be
    taken away through the RBAC API (turning router:external off is another matter)."""
    if entry.action == EXTERNAL and entry.target_project == EVERYONE and entry.network.is_default:
        raise RbacPolicyInUse(entry.object_id, "Default external networks must be shared to everyone.")


def ensure_no_stranded_ports(db: Session, network: Network, leaving: NetworkRbac) -> None:
    """The projects this entry lets in must not have ports that no other entry (nor
    ownership) covers."""
    others = {e.target_project for e in network.rbac_entries if e.action == SHARED and e.id != leaving.id}
    if EVERYONE in others or leaving.target_project == network.project_id:
        return
    stmt = select(Port.id).where(
        Port.network_id == network.id, Port.project_id != network.project_id, ~Port.project_id.in_(OWNERLESS_PORTS)
    )
    if leaving.target_project == EVERYONE:
        stmt = stmt.where(~Port.project_id.in_(others))
    else:
        stmt = stmt.where(Port.project_id == leaving.target_project)
    if db.scalar(stmt.limit(1)) is not None:
        raise RbacPolicyInUse(network.id, "there are ports of projects on the network that depend on this policy")


# -- shared / router:external on a network -----------------------------------------------------
def set_wildcard(db: Session, network: Network, action: str, wanted: bool) -> None:
    """shared or router:external turned on or off: the "*" entry (or, turning external
    off, every external entry) appears or goes."""
    if action == SHARED:
        current = [e for e in network.rbac_entries if e.action == SHARED and e.target_project == EVERYONE]
    else:
        current = [e for e in network.rbac_entries if e.action == EXTERNAL]
    if wanted and not any(e.target_project == EVERYONE for e in current):
        grant(db, network, action, EVERYONE, network.project_id)
    elif not wanted:
        for entry in current:
            revoke(db, entry)


# -- checks of a new entry ---------------------------------------------------------------------
def check_new(viewer: Viewer, object_type: str, action: str, network: Network | None, object_id: str) -> Network:
    if object_type not in OBJECT_TYPES:
        raise InvalidInput(f"'{object_type}' is not a valid RBAC object type")
    if action not in ACTIONS:
        raise InvalidInput(f"Invalid action '{action}' for object type '{object_type}'. Valid actions: {list(ACTIONS)}")
    if network is None:
        raise NetworkNotFound(object_id)
    if not viewer.is_admin and network.project_id != viewer.project_id:
        raise InvalidInput("Only admins can manipulate policies on networks they do not own")
    return network
