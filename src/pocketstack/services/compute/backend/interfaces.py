"""os-interface: a server's network interfaces are its ports (Neutron ports whose device_id
is the server). Attaching makes or binds a port in the request's transaction; detaching
gives it back (a port made for the server is deleted, one the caller brought is unbound
and stays). The database is the only record of what a server should have: the compute
agent hot-plugs the difference into the running guest on its next pass (agents/compute.py),
and a stopped guest starts with whatever its ports are then."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.faults import BadRequest, Conflict, NotFound

from .. import networking, states
from ..models import Server
from . import instance_actions

# Nova's check_instance_state for attach_interface and detach_interface
INTERFACE_VM_STATES = {states.ACTIVE, states.PAUSED, states.STOPPED}


def list_interfaces(db: Session, server: Server) -> list[Any]:
    return networking.ports_of(db, server.uuid)


def get_interface(db: Session, server: Server, port_id: str) -> Any:
    for port in networking.ports_of(db, server.uuid):
        if port.id == port_id:
            return port
    raise NotFound(f"Instance {server.uuid} is not attached to port {port_id}.")


def attach(db: Session, ctx: RequestContext, server: Server, request: dict[str, Any]) -> Any:
    """Bind the caller's port, or make one on a network (with a chosen address), or on the
    project's one network when neither is named; returns the port."""
    states.check_state(server, "attach_interface", INTERFACE_VM_STATES)
    nic = _nic_request(db, ctx, request)
    (port_id,) = networking.allocate(db, ctx, server, [nic])
    instance_actions.record_action(db, ctx, server, "attach_interface")
    return get_interface(db, server, port_id)


def detach(db: Session, ctx: RequestContext, server: Server, port_id: str) -> None:
    states.check_state(server, "detach_interface", INTERFACE_VM_STATES)
    get_interface(db, server, port_id)
    networking.release(db, server, {port_id})
    instance_actions.record_action(db, ctx, server, "detach_interface")


def _nic_request(db: Session, ctx: RequestContext, request: dict[str, Any]) -> networking.NicRequest:
    port_id, net_id, fixed_ips = request.get("port_id"), request.get("net_id"), request.get("fixed_ips")
    if port_id and net_id:
        raise BadRequest("Must not input both network_id and port_id")
    if fixed_ips and not net_id:
        raise BadRequest("Must input network_id when request IP address")
    if not port_id and not net_id:
        try:
            nics = networking.requested_nics(db, ctx, None, available=True)  # Nova auto-allocates for boots only
        except Conflict as error:  # several networks: Nova's NetworkAmbiguous, a 400 here
            raise BadRequest(error.message) from None
        if not nics:
            raise BadRequest("No specific network was requested and none are available for this project.")
        return dataclasses.replace(nics[0], tag=request.get("tag"))
    entry: dict[str, Any] = {"port": port_id} if port_id else {"uuid": net_id}
    if fixed_ips:
        entry["fixed_ip"] = fixed_ips[0]["ip_address"]
    entry["tag"] = request.get("tag")
    return networking.check_nic(db, ctx, entry, missing=NotFound)


def interface_tags(server: Server) -> dict[str, str]:
    return dict(server.system_metadata.get(networking.INTERFACE_TAGS, {}))
