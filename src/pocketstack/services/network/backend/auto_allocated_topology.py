"""Auto-allocated topologies: Neutron's "get me a network" (the auto-allocated-topology
extension, neutron/services/auto_allocate). A project's first request makes

- a network "auto_allocated_network",
- on it a subnet from each default subnet pool the caller may use
  ("auto_allocated_subnet_v4", and "auto_allocated_subnet_v6" when there is an IPv6 one),
- a router "auto_allocated_router", its gateway on the default external network and an
  interface on each subnet;

later requests answer with the same network. Everything is made through the networks,
subnets and routers backends (their checks and quotas apply), in the request's one
transaction: a step that fails takes the earlier ones with it (Neutron cleans up step by
step instead).

Two first requests of one project at once: the topology row's key is the project. The
network is made and the row claimed together in a savepoint before anything else; on
PostgreSQL the second claim waits for the first transaction and is refused when it
commits, so the second request drops its network and answers with the first one's
(SQLite runs one writer at a time anyway).

The cloud's part: a default external network and at least one default subnet pool;
without them Neutron's 409s ("Deployment error: ...") say what is missing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pocketstack.core import faults as http

from ..faults import AutoAllocationFailure
from ..models import AutoAllocatedTopology, Network, Router, Subnet, SubnetPool
from ..schemas.networks import NetworkCreate
from ..schemas.routers import RouterCreate
from ..schemas.subnets import SubnetCreate
from . import networks, routers, subnetpools, subnets
from .common import Viewer

NETWORK_NAME = "auto_allocated_network"
ROUTER_NAME = "auto_allocated_router"
SUBNET_NAME = "auto_allocated_subnet_v{}"

# Neutron's reasons, in its words
NO_EXTERNAL_NETWORK = "No default router:external network"
NO_SUBNETPOOLS = "No default subnetpools defined"
NO_PRIVATE_NETWORK = "Unable to provide project private network"
NO_CONNECTIVITY = "Unable to provide external connectivity"


def find(db: Session, project_id: str, *, lock: bool = False) -> AutoAllocatedTopology | None:
    stmt = select(AutoAllocatedTopology).where(AutoAllocatedTopology.project_id == project_id)
    return db.scalars(stmt.with_for_update() if lock else stmt).first()


def _external_network(db: Session) -> Network:
    network = networks.default_external_network(db)
    if network is None:
        raise AutoAllocationFailure(NO_EXTERNAL_NETWORK)
    return network


def default_pools(db: Session, viewer: Viewer) -> list[SubnetPool]:
    """The default pools (one per IP version at most) the caller may use, IPv4 first."""
    stmt = select(SubnetPool).where(SubnetPool.is_default.is_(True), subnetpools.visible(viewer))
    return list(db.scalars(stmt.order_by(SubnetPool.ip_version, SubnetPool.created_at)))


def check_requirements(db: Session, viewer: Viewer) -> None:
    """The dry run: could a topology be made now? 409 saying what is missing if not."""
    _external_network(db)
    if not default_pools(db, viewer):
        raise AutoAllocationFailure(NO_SUBNETPOOLS)


# -- get (or make) ---------------------------------------------------------------------------
def makings(db: Session, viewer: Viewer) -> tuple[Network, list[SubnetPool]]:
    """What a new topology is made from: the default external network and pools; 409 as
    Neutron's GET words it when they are missing."""
    external = _external_network(db)
    pools = default_pools(db, viewer)
    if not pools:
        raise AutoAllocationFailure(NO_PRIVATE_NETWORK)
    return external, pools


def topology_network(db: Session, viewer: Viewer, project_id: str) -> str:
    """The id of the project's auto-allocated network, made (with the rest of the topology)
    if the project has none yet."""
    existing = find(db, project_id)
    if existing is not None:
        return existing.network_id
    external, pools = makings(db, viewer)  # fail before making anything
    topology, network = _claim(db, project_id)
    if network is not None:
        made_subnets = _private_subnets(db, viewer, project_id, network, pools)
        topology.router_id = _connect(db, viewer, project_id, external, made_subnets).id
        db.flush()
    return topology.network_id


def _claim(db: Session, project_id: str) -> tuple[AutoAllocatedTopology, Network | None]:
    """The project's new topology row with its new network; or, when another request
    recorded one first, that one (and no network: nothing left to make)."""
    try:
        with db.begin_nested():
            network = networks.create_network(db, project_id, NetworkCreate.model_validate({"name": NETWORK_NAME}))
            topology = AutoAllocatedTopology(project_id=project_id, network_id=network.id)
            db.add(topology)
            db.flush()
        return topology, network
    except IntegrityError:
        # a locking read sees the winner's committed row even under REPEATABLE READ
        winner = find(db, project_id, lock=True)
        if winner is None:
            raise
        return winner, None


def _private_subnets(db: Session, viewer: Viewer, project_id: str, network: Network, pools: list[SubnetPool]) -> list[Subnet]:
    made = []
    try:
        for pool in pools:
            locked = subnetpools.get_pool(db, viewer, pool.id, lock=True)  # allocations from a pool queue
            spec = SubnetCreate.model_validate(
                {
                    "name": SUBNET_NAME.format(pool.ip_version),
                    "network_id": network.id,
                    "ip_version": pool.ip_version,
                    "subnetpool_id": pool.id,
                }
            )
            made.append(subnets.create_subnet(db, project_id, network, spec, locked))
    except (http.BadRequest, http.NotFound):
        # an exhausted pool, a prefix too small...: the cloud's set-up does not suffice
        raise AutoAllocationFailure(NO_PRIVATE_NETWORK) from None
    return made


def _connect(db: Session, viewer: Viewer, project_id: str, external: Network, made_subnets: list[Subnet]) -> Router:
    spec = RouterCreate.model_validate({"name": ROUTER_NAME, "external_gateway_info": {"network_id": external.id}})
    try:
        router = routers.create_router(db, viewer, project_id, spec)
        for subnet in made_subnets:
            routers.add_interface_by_subnet(db, viewer, router, subnet.id)
    except http.BadRequest:
        # no address left on the external network, overlapping CIDRs...
        raise AutoAllocationFailure(NO_CONNECTIVITY) from None
    return router


# -- delete ----------------------------------------------------------------------------------
def delete_topology(db: Session, viewer: Viewer, project_id: str) -> None:
    """The router (its interfaces and gateway) and the network (its subnets) go. Anything
    else still using them (a server's port, another interface) keeps them, with 409, and
    then nothing is removed."""
    topology = find(db, project_id, lock=True)
    if topology is None:
        return
    network = db.get_one(Network, topology.network_id)  # the row goes with its network
    router = db.get(Router, topology.router_id) if topology.router_id else None
    db.delete(topology)
    db.flush()
    if router is not None:
        for subnet in list(network.subnets):
            try:
                routers.remove_interface_by_subnet(db, viewer, router, subnet.id)
            except http.NotFound:
                pass  # its interface was removed by hand already
        routers.delete_router(db, router)
    networks.delete_network(db, network)
