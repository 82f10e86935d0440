"""What a floating IP request may say (neutron-lib's l3 floatingips attribute map): the
external network, optionally the address or the subnet it comes from, and the port
(and which of its fixed addresses) it is translated to."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from ..common.attributes import Description, NeutronBody, Tags, Uuid, none_or, to_ip_address, to_uuid

ATTRIBUTES = frozenset(
    {
        "id",
        "floating_ip_address",
        "floating_network_id",
        "subnet_id",
        "router_id",
        "port_id",
        "fixed_ip_address",
        "status",
        "port_details",
        "tenant_id",
        "project_id",
        "description",
        "tags",
        "created_at",
        "updated_at",
        "revision_number",
    }
)

OptionalUuid = Annotated[str | None, BeforeValidator(none_or(to_uuid))]
OptionalIp = Annotated[str | None, BeforeValidator(none_or(to_ip_address))]


class FloatingIpCreate(NeutronBody):
    floating_network_id: Uuid
    floating_ip_address: OptionalIp = None  # absent: one is allocated
    subnet_id: OptionalUuid = None  # absent: any IPv4 subnet of the network
    port_id: OptionalUuid = None  # absent: not associated
    fixed_ip_address: OptionalIp = None  # absent: the port's only IPv4 address
    description: Description = ""
    tags: Tags = Field(default_factory=list)


class FloatingIpUpdate(NeutronBody):
    port_id: OptionalUuid = None  # null: disassociate
    fixed_ip_address: OptionalIp = None
    description: Description = ""
