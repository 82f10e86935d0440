"""os-networks (deprecated; gone from 2.36): the networking service's networks as Nova
shows them since nova-network went away: the id and the name as "label", every other
nova-network field null (admins see the admin-only ones too, as nulls).

GET /v2.1/os-networks          the networks the caller can see
GET /v2.1/os-networks/{id}     one of them (404 otherwise)
GET /v2.1/os-tenant-networks[/{id}]   the same networks as Nova's tenant-networks proxy
                                      shows them: id, label and a "None" cidr

Without the networking service in this cloud there are no networks: an empty list, and
404 for any id. The nova-network actions (create, delete, add, disassociate) were
removed from Nova (410); they are not served here either."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import NotFound, nova_fault

api = ApiRouter(nova_fault)

PROXY_MAX = "2.35"
FIELDS = ("id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6", "gateway_v6", "label", "netmask_v6")
ADMIN_FIELDS = (
    "created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge", "vlan", "vpn_public_address",
    "vpn_public_port", "vpn_private_address", "dhcp_start", "project_id", "host", "bridge_interface", "multi_host",
    "priority", "rxtx_base", "mtu", "dhcp_server", "enable_dhcp", "share_address",
)  # fmt: skip


def _view(call: Call, network_id: str, name: str) -> dict[str, Any]:
    fields = FIELDS + (ADMIN_FIELDS if call.ctx.is_admin else ())
    out: dict[str, Any] = dict.fromkeys(fields)
    out["id"], out["label"] = network_id, name
    return out


def _visible_networks(call: Call, network_id: str | None = None) -> list[tuple[str, str]]:
    """(id, name) of the networks the caller may see, oldest first; none without the
    networking service."""
    if getattr(call.cloud, "network", None) is None:
        return []
    from pocketstack.services.network.backend.common import Viewer
    from pocketstack.services.network.backend.networks import visible
    from pocketstack.services.network.models import Network

    query = select(Network.id, Network.name).where(visible(Viewer.of(call.ctx)))
    if network_id is not None:
        query = query.where(Network.id == network_id)
    return [(row.id, row.name) for row in call.db.execute(query.order_by(Network.created_at, Network.id))]


@api.route("GET", "/v2.1/os-networks", max_version=PROXY_MAX)
def list_networks(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-networks:list", {"project_id": call.ctx.project_id})
    return {"networks": [_view(call, network_id, name) for network_id, name in _visible_networks(call)]}


@api.route("GET", "/v2.1/os-networks/{network_id}", max_version=PROXY_MAX)
def show_network(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-networks:show", {"project_id": call.ctx.project_id})
    found = _visible_networks(call, call.params["network_id"])
    if not found:
        raise NotFound("Network not found")
    return {"network": _view(call, *found[0])}


def _tenant_view(network_id: str, name: str) -> dict[str, Any]:
    # Nova's network_dict over a Neutron network: it has no cidr, and Nova prints str(None)
    return {"id": network_id, "cidr": "None", "label": name}


@api.route("GET", "/v2.1/os-tenant-networks", max_version=PROXY_MAX)
def list_tenant_networks(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-tenant-networks:list", {"project_id": call.ctx.project_id})
    return {"networks": [_tenant_view(network_id, name) for network_id, name in _visible_networks(call)]}


@api.route("GET", "/v2.1/os-tenant-networks/{network_id}", max_version=PROXY_MAX)
def show_tenant_network(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-tenant-networks:show", {"project_id": call.ctx.project_id})
    found = _visible_networks(call, call.params["network_id"])
    if not found:
        raise NotFound("Network not found")
    return {"network": _tenant_view(*found[0])}
