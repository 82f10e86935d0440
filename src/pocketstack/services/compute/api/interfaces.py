"""os-interface: a server's network interfaces (its ports), attached and detached while it
runs (the compute agent hot-plugs them into the guest; backend/interfaces.py).

GET    /v2.1/servers/{id}/os-interface              the server's interfaces
POST   /v2.1/servers/{id}/os-interface              attach a port, or a new port on a network (200)
GET    /v2.1/servers/{id}/os-interface/{port_id}    one of them
DELETE /v2.1/servers/{id}/os-interface/{port_id}    detach it (202)

Without the networking service there is nothing to attach: Nova without Neutron answers
these with 404 (the API is gone), and so does this one."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pocketstack.core.api import ApiRouter, Call, validate
from pocketstack.core.faults import NotFound, nova_fault

from ..backend import interfaces as backend
from ..models import Server
from ..schemas.interfaces import AttachBody, TaggedAttachBody
from .servers import get_server, networking_on, wake_agent

api = ApiRouter(nova_fault)


def rule(name: str) -> str:
    return f"os_compute_api:os-attach-interfaces:{name}"


def _server(call: Call, rule_name: str, *, for_write: bool = False) -> Server:
    if not networking_on(call):
        raise NotFound("The resource could not be found.")
    return get_server(call, rule(rule_name), for_write=for_write)


def _view(call: Call, server: Server, port: Any) -> dict[str, Any]:
    out = {
        "fixed_ips": [{"ip_address": held.ip_address, "subnet_id": held.subnet_id} for held in port.fixed_ips],
        "mac_addr": port.mac_address,
        "net_id": port.network_id,
        "port_id": port.id,
        "port_state": port.status,
    }
    if call.version >= "2.70":
        out["tag"] = backend.interface_tags(server).get(port.id)
    return out


@api.route("GET", "/v2.1/servers/{server_id}/os-interface")
def list_interfaces(call: Call) -> dict[str, Any]:
    server = _server(call, "list")
    return {"interfaceAttachments": [_view(call, server, port) for port in backend.list_interfaces(call.db, server)]}


@api.route("GET", "/v2.1/servers/{server_id}/os-interface/{port_id}")
def show_interface(call: Call) -> dict[str, Any]:
    server = _server(call, "show")
    return {"interfaceAttachment": _view(call, server, backend.get_interface(call.db, server, call.params["port_id"]))}


@api.route("POST", "/v2.1/servers/{server_id}/os-interface")
def attach_interface(call: Call) -> dict[str, Any]:
    server = _server(call, "create", for_write=True)
    model = TaggedAttachBody if call.version >= "2.49" else AttachBody
    request = validate(model, call.json()).interfaceAttachment.model_dump(exclude_none=True)
    port = backend.attach(call.db, call.ctx, server, request)
    wake_agent(call)
    return {"interfaceAttachment": _view(call, server, port)}


@api.route("DELETE", "/v2.1/servers/{server_id}/os-interface/{port_id}", status=202)
def detach_interface(call: Call) -> Response:
    server = _server(call, "delete", for_write=True)
    backend.detach(call.db, call.ctx, server, call.params["port_id"])
    wake_agent(call)
    return Response(status_code=202)
