"""What a port request may say (neutron-lib's port attribute map, port-security,
security-group, allowed-address-pairs and binding). Which subnet an address belongs to,
and whether it is free, is the backend's question."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ..common.attributes import (
    Description,
    Name,
    NeutronBody,
    NeutronBool,
    Tags,
    Uuid,
    list_of,
    none_or,
    string,
    to_boolean,
    to_ip_address,
    to_mac,
    to_uuid,
)

VNIC_TYPES = (
    "normal",
    "direct",
    "macvtap",
    "baremetal",
    "direct-physical",
    "virtio-forwarder",
    "smart-nic",
    "vdpa",
    "accelerator-direct",
    "accelerator-direct-physical",
    "remote-managed",
)

ATTRIBUTES = frozenset(
    {
        "id",
        "name",
        "description",
        "network_id",
        "tenant_id",
        "project_id",
        "mac_address",
        "admin_state_up",
        "status",
        "device_id",
        "device_owner",
        "fixed_ips",
        "allowed_address_pairs",
        "security_groups",
        "port_security_enabled",
        "binding:host_id",
        "binding:vnic_type",
        "binding:vif_type",
        "binding:vif_details",
        "binding:profile",
        "tags",
        "created_at",
        "updated_at",
        "revision_number",
    }
)


def _fixed_ips(value: Any) -> list[dict[str, str]] | None:
    """[{"subnet_id": ..., "ip_address": ...}], either key optional; no address twice."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for fixed IP: '{value}'")
    entries, seen = [], set()
    for entry in value:
        if not isinstance(entry, dict) or not entry or set(entry) - {"subnet_id", "ip_address"}:
            raise ValueError(f"Invalid data format for fixed IP: '{entry}'")
        checked = {}
        if "subnet_id" in entry:
            checked["subnet_id"] = to_uuid(entry["subnet_id"])
        if "ip_address" in entry:
            address = to_ip_address(entry["ip_address"])
            if address in seen:
                raise ValueError(f"Duplicate IP address '{entry['ip_address']}'")
            seen.add(address)
            checked["ip_address"] = address
        entries.append(checked)
    return entries


def _address_pairs(value: Any) -> list[dict[str, Any]]:
    """The shape only (a list of objects); what each pair says is checked with the port."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(pair, dict) for pair in value):
        raise ValueError(f"'{value}' is not a list of address pairs")
    return list(value)


def _vnic_type(value: Any) -> str:
    if value not in VNIC_TYPES:
        raise ValueError(f"'{value}' is not in {list(VNIC_TYPES)}")
    return str(value)


def _profile(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"'{value}' is not a dictionary")
    return value


FixedIps = Annotated[list[dict[str, str]] | None, BeforeValidator(_fixed_ips)]
AddressPairs = Annotated[list[dict[str, Any]], BeforeValidator(_address_pairs)]
SecurityGroups = Annotated[list[str], BeforeValidator(lambda v: [] if v is None else list_of(to_uuid)(v))]
OptionalMac = Annotated[str | None, BeforeValidator(none_or(to_mac))]
OptionalBool = Annotated[bool | None, BeforeValidator(none_or(to_boolean))]
DeviceText = Annotated[str, BeforeValidator(lambda v: "" if v is None else string(255)(v))]
VnicType = Annotated[str, BeforeValidator(_vnic_type)]
Profile = Annotated[dict[str, Any], BeforeValidator(_profile)]
HostId = Annotated[str, BeforeValidator(lambda v: "" if v is None else string(255)(v))]


class PortCreate(NeutronBody):
    network_id: Uuid
    name: Name = ""
    description: Description = ""
    admin_state_up: NeutronBool = True
    mac_address: OptionalMac = None  # absent: one is made (fa:16:3e:xx:xx:xx)
    fixed_ips: FixedIps = None  # absent: an address from the network's subnets
    device_id: DeviceText = ""
    device_owner: DeviceText = ""
    port_security_enabled: OptionalBool = None  # absent: the network's setting
    security_groups: SecurityGroups = Field(default_factory=list)  # absent: the project's default group
    allowed_address_pairs: AddressPairs = Field(default_factory=list)
    host_id: HostId = Field("", alias="binding:host_id")
    vnic_type: VnicType = Field("normal", alias="binding:vnic_type")
    profile: Profile = Field(default_factory=dict, alias="binding:profile")
    tags: Tags = Field(default_factory=list)


class PortUpdate(NeutronBody):
    name: Name = ""
    description: Description = ""
    admin_state_up: NeutronBool = True
    mac_address: OptionalMac = None
    fixed_ips: FixedIps = None
    device_id: DeviceText = ""
    device_owner: DeviceText = ""
    port_security_enabled: OptionalBool = None
    security_groups: SecurityGroups = Field(default_factory=list)
    allowed_address_pairs: AddressPairs = Field(default_factory=list)
    host_id: HostId = Field("", alias="binding:host_id")
    vnic_type: VnicType = Field("normal", alias="binding:vnic_type")
    profile: Profile = Field(default_factory=dict, alias="binding:profile")
