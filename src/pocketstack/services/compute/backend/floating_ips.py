"""Nova's deprecated floating-IP proxies (os-floating-ips, os-floating-ip-pools,
addFloatingIp / removeFloatingIp) and multinic (addFixedIp / removeFixedIp), over the
networking service (as nova/network/neutron.py does over Neutron).

A pool is an external network, named by name or, when the value looks like a UUID, by
id; without one the default is the oldest external network the caller sees (Nova's
[neutron] default_floating_pool names one; this cloud has no such option). Every rule of
the floating IP or port itself (quota, IPAM, who may associate what, one floating IP per
fixed address) is the network backend's: this module finds what Nova finds and answers
Neutron's refusals in Nova's words and codes, which differ by operation, so it maps them
here.

Nova runs addFixedIp / removeFixedIp on the compute host after answering 202, so their
failures only show as instance faults there; here they run in the request, and what the
host would have failed on (no port on the network, no address left, an address the
server does not have) is a 400 with Nova's message."""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Conflict, Fault, Forbidden, NotFound
from pocketstack.core.ids import is_uuid
from pocketstack.services.network.backend import floating_ips as network_fips
from pocketstack.services.network.backend import networks as network_networks
from pocketstack.services.network.backend import ports as network_ports
from pocketstack.services.network.backend.common import Viewer
from pocketstack.services.network.faults import ExternalIpAddressExhausted, IpAddressGenerationFailure, OverQuota
from pocketstack.services.network.models import FloatingIp, Network, Port, Subnet
from pocketstack.services.network.schemas.floating_ips import FloatingIpCreate, FloatingIpUpdate
from pocketstack.services.network.schemas.ports import PortUpdate

from .. import networking
from ..models import Server
from . import servers

NOVA_OWNER_PREFIX = "compute:"  # the ports Nova made or bound for a server


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


# -- pools ---------------------------------------------------------------------------------
def pools(db: Session, ctx: RequestContext) -> list[Network]:
    """The external networks the caller sees, oldest first."""
    stmt = select(Network).where(Network.external.is_(True), network_networks.visible(Viewer.of(ctx)))
    return list(db.scalars(stmt.order_by(Network.created_at, Network.id)))


def find_pool(db: Session, ctx: RequestContext, name_or_id: str | None) -> Network:
    """Nova's _get_floating_ip_pool_id_by_name_or_id; no name: the default pool."""
    candidates = pools(db, ctx)
    if not name_or_id:
        if not candidates:
            raise NotFound("Floating IP pool not found.")
        # the cloud's default external network (auto-allocated topology's), else the oldest
        return next((net for net in candidates if net.is_default), candidates[0])
    by_id = is_uuid(name_or_id)
    found = [net for net in candidates if (net.id if by_id else net.name) == name_or_id]
    if not found:
        raise NotFound("Floating IP pool not found.")
    if len(found) > 1:
        raise Conflict(f"Multiple floating IP pools matches found for name '{name_or_id}'")
    return found[0]


def pool_names(db: Session, fips: list[FloatingIp]) -> dict[str, str]:
    """external network id -> its name as a pool (its id when it has no name)."""
    ids = {fip.floating_network_id for fip in fips}
    if not ids:
        return {}
    return {net_id: name or net_id for net_id, name in db.execute(select(Network.id, Network.name).where(Network.id.in_(ids)))}


# -- os-floating-ips -------------------------------------------------------------------------
def project_floating_ips(db: Session, ctx: RequestContext) -> list[FloatingIp]:
    """The caller's project's floating IPs (an admin's too: Nova lists by project), oldest first."""
    stmt = select(FloatingIp).where(FloatingIp.project_id == ctx.project_id)
    return list(db.scalars(stmt.order_by(FloatingIp.created_at, FloatingIp.id)))


def get_floating_ip(db: Session, ctx: RequestContext, fip_id: str) -> FloatingIp:
    try:
        return network_fips.get_floating_ip(db, Viewer.of(ctx), fip_id)
    except NotFound:
        raise NotFound(f"Floating IP not found for ID {fip_id}") from None


def allocate(db: Session, ctx: RequestContext, pool: str | None) -> FloatingIp:
    """A new floating IP of the caller's project from the pool (Nova's words for the
    network's refusals: over quota 403, no address left 404, other bad requests 400)."""
    network = find_pool(db, ctx, pool)
    spec = FloatingIpCreate.model_validate({"floating_network_id": network.id})
    try:
        return network_fips.create_floating_ip(db, Viewer.of(ctx), ctx.project_id or "", spec)
    except OverQuota:
        raise Forbidden(f"IP allocation over quota in pool {pool}." if pool else "IP allocation over quota.") from None
    except (IpAddressGenerationFailure, ExternalIpAddressExhausted):
        raise NotFound(f"No more floating IPs in pool {pool}." if pool else "No more floating IPs available.") from None


def release(db: Session, fip: FloatingIp) -> None:
    """The floating IP goes (disassociated first, as Nova's disassociate_and_release)."""
    network_fips.delete_floating_ip(db, fip)


# -- addFloatingIp / removeFloatingIp ----------------------------------------------------------------
def find_by_address(db: Session, ctx: RequestContext, address: str) -> list[FloatingIp]:
    """The floating IPs the caller sees with this address (two at most: Nova only needs to
    know there is more than one)."""
    stmt = select(FloatingIp).where(FloatingIp.floating_ip_address == address, network_fips.visible(Viewer.of(ctx)))
    return list(db.scalars(stmt.limit(2)))


def associate(db: Session, ctx: RequestContext, server: Server, address: str, fixed_address: str | None) -> None:
    """Nova's _add_floating_ip: the fixed address is the one asked for (it must be the
    server's) or the server's first IPv4 address; the floating IP is then pointed at the
    port holding it, moving it from another port if it was associated (Neutron allows it)."""
    port, fixed = _fixed_address_of(server, networking.ports_of(db, server.uuid), address, fixed_address)
    found = find_by_address(db, ctx, address)
    if not found:
        raise NotFound("floating IP not found")
    if len(found) > 1:
        raise BadRequest(f"Multiple floating IPs are found for address {address}.")
    spec = FloatingIpUpdate.model_validate({"port_id": port.id, "fixed_ip_address": fixed})
    try:
        network_fips.update_floating_ip(db, Viewer.of(ctx), found[0], spec)
    except Forbidden:
        raise
    except Conflict as exc:  # Neutron's 409 (that address already has a floating IP): Nova's 400
        raise BadRequest(exc.message) from None
    except Fault as exc:  # anything else Neutron refuses (no router to the pool, ...)
        raise BadRequest(
            f"Unable to associate floating IP {address} to fixed IP {fixed} for instance {server.uuid}. Error: {exc.message}"
        ) from None


def _fixed_address_of(server: Server, ports: list[Port], address: str, fixed_address: str | None) -> tuple[Port, str]:
    if not ports:
        raise BadRequest("Instance network is not ready yet")
    held = [(port, allocation.ip_address) for port in ports for allocation in port.fixed_ips]
    if not held:
        raise BadRequest("No fixed IPs associated to instance")
    if fixed_address is not None:
        for port, ip in held:
            if _same_address(ip, fixed_address):
                return port, ip
        raise BadRequest("Specified fixed address not assigned to instance")
    for port, ip in held:
        if ipaddress.ip_address(ip).version == 4:
            return port, ip
    raise BadRequest(
        f"Unable to associate floating IP {address} to any fixed IPs for instance {server.uuid}. "
        "Instance has no fixed IPv4 addresses to associate."
    )


def associated_with(db: Session, ctx: RequestContext, address: str) -> tuple[FloatingIp, Server | None]:
    """Nova's get_instance_by_floating_ip_addr: the floating IP with this address and the
    server it is associated with (None when it is not, or with a port of no device); a
    device that is no server the caller sees is a 404, as Nova's instance lookup."""
    found = find_by_address(db, ctx, address)
    if not found:
        raise NotFound(f"Floating IP not found for address {address}.")
    if len(found) > 1:
        raise Conflict(f"Multiple floating IPs are found for address {address}.")
    fip = found[0]
    port = fip.fixed_port
    if port is None or not port.device_id:
        return fip, None
    return fip, servers.get_server(db, ctx, port.device_id)


def disassociate(db: Session, ctx: RequestContext, fip: FloatingIp) -> None:
    network_fips.update_floating_ip(db, Viewer.of(ctx), fip, FloatingIpUpdate.model_validate({"port_id": None}))


# -- addFixedIp / removeFixedIp (multinic) -----------------------------------------------------------
def _nova_ports(db: Session, server: Server) -> list[Port]:
    return [port for port in networking.ports_of(db, server.uuid) if port.device_owner.startswith(NOVA_OWNER_PREFIX)]


def _held(port: Port) -> list[dict[str, str]]:
    return [{"subnet_id": allocation.subnet_id, "ip_address": allocation.ip_address} for allocation in port.fixed_ips]


def add_fixed_ip(db: Session, ctx: RequestContext, server: Server, network_id: str) -> None:
    """Nova's add_fixed_ip_to_instance: one more address on the server's port on that
    network, from the network's first subnet that has one free (the port keeps its
    addresses: Neutron adds one for a subnet named without an address)."""
    viewer = Viewer.of(ctx)
    network = db.scalars(select(Network).where(Network.id == network_id, network_networks.visible(viewer))).first()
    subnets = [] if network is None else list(db.scalars(select(Subnet).where(Subnet.network_id == network.id).order_by(Subnet.created_at)))
    on_network = [port for port in _nova_ports(db, server) if port.network_id == network_id]
    if not subnets or not on_network:
        raise BadRequest(f"Network could not be found for instance {server.uuid}.")
    for port in on_network:
        for subnet in subnets:
            spec = PortUpdate.model_validate({"fixed_ips": [*_held(port), {"subnet_id": subnet.id}]})
            try:
                with db.begin_nested():  # a subnet that refuses leaves the port as it was
                    network_ports.update_port(db, viewer, port, spec)
            except Fault:
                continue
            server.updated_at = utcnow()
            return
    raise BadRequest(f"No fixed IP addresses available for network: {network_id}")


def remove_fixed_ip(db: Session, ctx: RequestContext, server: Server, address: str) -> None:
    """Nova's remove_fixed_ip_from_instance: the address leaves the server's port that has
    it (the networking service refuses one a floating IP is translated to: 400)."""
    for port in _nova_ports(db, server):
        held = _held(port)
        kept = [entry for entry in held if not _same_address(entry["ip_address"], address)]
        if len(kept) == len(held):
            continue
        try:
            network_ports.update_port(db, Viewer.of(ctx), port, PortUpdate.model_validate({"fixed_ips": kept}))
        except Fault as exc:
            raise BadRequest(exc.message) from None
        server.updated_at = utcnow()
        return
    raise BadRequest(f"Instance {server.uuid} does not have fixed IP '{address}'.")
