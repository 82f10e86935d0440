"""What a subnet request may say (neutron-lib's subnet attribute map and its ip_pools,
nameservers and hostroutes validators; subnet-service-types). Address arithmetic that
needs the whole subnet (pools inside the CIDR, gateway outside the pools) is the
backend's, with ipam.py."""

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
    integer_range,
    list_of,
    none_or,
    string,
    to_cidr,
    to_integer,
    to_ip_address,
    to_uuid,
)

IPV6_MODES = ("dhcpv6-stateful", "dhcpv6-stateless", "slaac")

ATTRIBUTES = frozenset(
    {
        "id",
        "name",
        "description",
        "network_id",
        "ip_version",
        "cidr",
        "prefixlen",
        "gateway_ip",
        "allocation_pools",
        "dns_nameservers",
        "host_routes",
        "enable_dhcp",
        "ipv6_ra_mode",
        "ipv6_address_mode",
        "subnetpool_id",
        "use_default_subnetpool",
        "segment_id",
        "service_types",
        "tenant_id",
        "project_id",
        "tags",
        "created_at",
        "updated_at",
        "revision_number",
    }
)


def _ip_version(value: Any) -> int:
    version = to_integer(value)
    if version not in (4, 6):
        raise ValueError(f"'{version}' is not in [4, 6]")
    return version


def _ipv6_mode(value: Any) -> str:
    if value not in IPV6_MODES:
        raise ValueError(f"'{value}' is not in {list(IPV6_MODES)}")
    return str(value)


def _pool(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError(f"Invalid data format for IP pool: '{value}'")
    if set(value) != {"start", "end"}:
        raise ValueError(f"Invalid data format for IP pool: '{value}'")
    return {"start": to_ip_address(value["start"]), "end": to_ip_address(value["end"])}


def _nameserver(value: Any) -> str:
    try:
        return to_ip_address(value)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a valid nameserver. {exc}") from None


def _host_route(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != {"destination", "nexthop"}:
        raise ValueError(f"Invalid data format for hostroute: '{value}'")
    return {"destination": to_cidr(value["destination"]), "nexthop": to_ip_address(value["nexthop"])}


def _service_type(value: Any) -> str:
    text = string(255)(value)
    if not text.startswith(("network:", "compute:", "neutron:")) and text != "compute:nova":
        raise ValueError(f"Subnet service type {text} does not correspond to a valid device owner")
    return text


def _only_none(what: str) -> Any:
    """segment_id: a feature this cloud does not have; null (or absent) is the only
    value accepted."""

    def check(value: Any) -> None:
        if value is not None:
            raise ValueError(f"{what} are not supported by this cloud")
        return None

    return check


def _pools(value: Any) -> list[dict[str, str]]:
    return list_of(_pool, unique=False)(value)


IpVersion = Annotated[int, BeforeValidator(_ip_version)]
Ipv6Mode = Annotated[str | None, BeforeValidator(none_or(_ipv6_mode))]
Pools = Annotated[list[dict[str, str]] | None, BeforeValidator(none_or(_pools))]
Nameservers = Annotated[list[str], BeforeValidator(lambda v: [] if v is None else list_of(_nameserver)(v))]
HostRoutes = Annotated[list[dict[str, str]], BeforeValidator(lambda v: [] if v is None else list_of(_host_route)(v))]
ServiceTypes = Annotated[list[str], BeforeValidator(list_of(_service_type))]
OptionalCidr = Annotated[str | None, BeforeValidator(none_or(to_cidr))]
OptionalIp = Annotated[str | None, BeforeValidator(none_or(to_ip_address))]
NoSegment = Annotated[None, BeforeValidator(_only_none("Network segments"))]
SubnetPoolId = Annotated[str | None, BeforeValidator(none_or(to_uuid))]
Prefixlen = Annotated[int | None, BeforeValidator(none_or(integer_range(0, 128)))]


class SubnetCreate(NeutronBody):
    network_id: Uuid
    ip_version: IpVersion
    cidr: OptionalCidr = None
    name: Name = ""
    description: Description = ""
    gateway_ip: OptionalIp = None  # absent: the first address; null: no gateway
    allocation_pools: Pools = None  # absent or null: the whole range less the gateway
    dns_nameservers: Nameservers = Field(default_factory=list)
    host_routes: HostRoutes = Field(default_factory=list)
    enable_dhcp: NeutronBool = True
    ipv6_ra_mode: Ipv6Mode = None
    ipv6_address_mode: Ipv6Mode = None
    subnetpool_id: SubnetPoolId = None  # a pool to take the CIDR from
    prefixlen: Prefixlen = None  # with a pool and no cidr: the size asked for (absent: the pool's default)
    use_default_subnetpool: NeutronBool = False  # the default pool of ip_version
    segment_id: NoSegment = None
    service_types: ServiceTypes = Field(default_factory=list)
    tags: Tags = Field(default_factory=list)


class SubnetUpdate(NeutronBody):
    name: Name = ""
    description: Description = ""
    gateway_ip: OptionalIp = None
    allocation_pools: Pools = None
    dns_nameservers: Nameservers = Field(default_factory=list)
    host_routes: HostRoutes = Field(default_factory=list)
    enable_dhcp: NeutronBool = True
    segment_id: NoSegment = None
    service_types: ServiceTypes = Field(default_factory=list)
