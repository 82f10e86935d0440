"""What a network request may say (neutron-lib's network, external-net, provider,
net-mtu-writable, port-security, network_availability_zone and auto-allocated-topology
attribute maps)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from ..common.attributes import Description, Name, NeutronBody, NeutronBool, Tags, integer_range, list_of, none_or, string

MIN_MTU = 68
NETWORK_TYPES = ("flat", "vlan", "vxlan", "local")

# every attribute a network shows: a body naming another is refused as unrecognized
ATTRIBUTES = frozenset(
    {
        "id",
        "name",
        "description",
        "admin_state_up",
        "status",
        "subnets",
        "shared",
        "tenant_id",
        "project_id",
        "router:external",
        "is_default",
        "mtu",
        "port_security_enabled",
        "provider:network_type",
        "provider:physical_network",
        "provider:segmentation_id",
        "availability_zone_hints",
        "availability_zones",
        "l2_adjacency",
        "tags",
        "created_at",
        "updated_at",
        "revision_number",
    }
)


def _network_type(value: object) -> str:
    text = string(32)(value)
    if text not in NETWORK_TYPES:
        raise ValueError(f"network_type value '{text}' not supported")
    return text


Mtu = Annotated[int | None, BeforeValidator(none_or(integer_range(MIN_MTU, 2**31 - 1)))]
NetworkType = Annotated[str | None, BeforeValidator(none_or(_network_type))]
PhysicalNetwork = Annotated[str | None, BeforeValidator(none_or(string(64)))]
SegmentationId = Annotated[int | None, BeforeValidator(none_or(integer_range(0, 2**31 - 1)))]
ZoneHints = Annotated[list[str], BeforeValidator(list_of(string(255)))]


class NetworkCreate(NeutronBody):
    name: Name = ""
    description: Description = ""
    admin_state_up: NeutronBool = True
    shared: NeutronBool = False
    router_external: NeutronBool = Field(False, alias="router:external")
    is_default: NeutronBool = False  # the default external network (only an external network can be)
    mtu: Mtu = None  # None: the largest the network type allows
    port_security_enabled: NeutronBool = True
    availability_zone_hints: ZoneHints = Field(default_factory=list)
    network_type: NetworkType = Field(None, alias="provider:network_type")
    physical_network: PhysicalNetwork = Field(None, alias="provider:physical_network")
    segmentation_id: SegmentationId = Field(None, alias="provider:segmentation_id")
    tags: Tags = Field(default_factory=list)


class NetworkUpdate(NeutronBody):
    name: Name = ""
    description: Description = ""
    admin_state_up: NeutronBool = True
    shared: NeutronBool = False
    router_external: NeutronBool = Field(False, alias="router:external")
    is_default: NeutronBool = False
    mtu: Mtu = None
    port_security_enabled: NeutronBool = True
    # a network's segment does not change: stating the current one is accepted
    network_type: NetworkType = Field(None, alias="provider:network_type")
    physical_network: PhysicalNetwork = Field(None, alias="provider:physical_network")
    segmentation_id: SegmentationId = Field(None, alias="provider:segmentation_id")
