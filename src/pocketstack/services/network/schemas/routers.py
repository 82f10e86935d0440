"""What a router request may say (neutron-lib's l3, ext-gw-mode, extraroute and
router_availability_zone attribute maps), and the bodies of add/remove_router_interface
and add/remove_extraroutes. Whether a gateway network is external, or a nexthop
connected, is the backend's question."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from pocketstack.core.faults import BadRequest

from ..common.attributes import Description, Name, NeutronBody, NeutronBool, Tags, list_of, string, to_boolean, to_uuid
from ..faults import BadRequest as ResourceBadRequest
from .ports import _fixed_ips
from .subnets import _host_route

ATTRIBUTES = frozenset(
    {
        "id",
        "name",
        "description",
        "admin_state_up",
        "status",
        "tenant_id",
        "project_id",
        "external_gateway_info",
        "routes",
        "distributed",
        "ha",
        "availability_zone_hints",
        "availability_zones",
        "tags",
        "created_at",
        "updated_at",
        "revision_number",
    }
)
GATEWAY_KEYS = ("network_id", "enable_snat", "external_fixed_ips")


class GatewayInfo(BaseModel):
    """external_gateway_info: the external network, SNAT on or off (absent: on), and the
    gateway's addresses (absent: allocated)."""

    network_id: str
    enable_snat: bool | None = None
    external_fixed_ips: list[dict[str, str]] | None = None

    @property
    def named(self) -> set[str]:
        """Keys the request gave, for the per-key policy rules."""
        return set(self.model_fields_set)


def _gateway(value: Any) -> GatewayInfo | None:
    """null or {} clears the gateway; otherwise network_id is required (dict_or_nodata)."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"'{value}' is not a dictionary")
    if "network_id" not in value:
        raise ValueError(f"Validation of dictionary's keys failed. Expected keys: {{'network_id'}} Provided keys: {set(value)}")
    unknown = sorted(set(value) - set(GATEWAY_KEYS))
    if unknown:
        raise ValueError(f"Unexpected keys supplied: {', '.join(unknown)}")
    info: dict[str, Any] = {"network_id": to_uuid(value["network_id"])}
    if "enable_snat" in value:
        info["enable_snat"] = to_boolean(value["enable_snat"])
    if "external_fixed_ips" in value:
        info["external_fixed_ips"] = _fixed_ips(value["external_fixed_ips"]) or []
    return GatewayInfo(**info)


def _only_false(feature: str) -> Any:
    """distributed and ha: this cloud's routers are neither (no DVR, no L3 HA)."""

    def check(value: Any) -> bool:
        if to_boolean(value):
            raise ValueError(f"{feature} routers are not supported by this cloud")
        return False

    return check


def _routes(value: Any) -> list[dict[str, str]]:
    """[{"destination": cidr, "nexthop": address}]; null clears them (convert_none_to_empty_list)."""
    if value is None:
        return []
    return list_of(_host_route, what="list of routes")(value)


Gateway = Annotated[GatewayInfo | None, BeforeValidator(_gateway)]
Routes = Annotated[list[dict[str, str]], BeforeValidator(_routes)]
ZoneHints = Annotated[list[str], BeforeValidator(list_of(string(255)))]
Distributed = Annotated[bool, BeforeValidator(_only_false("Distributed"))]
HighlyAvailable = Annotated[bool, BeforeValidator(_only_false("HA"))]


class RouterCreate(NeutronBody):
    name: Name = ""
    description: Description = ""
    admin_state_up: NeutronBool = True
    external_gateway_info: Gateway = None
    distributed: Distributed = False
    ha: HighlyAvailable = False
    availability_zone_hints: ZoneHints = Field(default_factory=list)
    tags: Tags = Field(default_factory=list)


class RouterUpdate(NeutronBody):
    name: Name = ""
    description: Description = ""
    admin_state_up: NeutronBool = True
    external_gateway_info: Gateway = None
    routes: Routes = Field(default_factory=list)
    distributed: Distributed = False
    ha: HighlyAvailable = False


def gateway_attributes(explicit: set[str], info: GatewayInfo | None) -> set[str]:
    """The attribute names a request sets, with the gateway's keys spelled as their
    policy rules name them (external_gateway_info:enable_snat, ...)."""
    names = set(explicit)
    if info is not None:
        names.update(f"external_gateway_info:{key}" for key in info.named)
    return names


class Interface(BaseModel):
    """The body of add/remove_router_interface: a subnet or a port."""

    subnet_id: str | None = None
    port_id: str | None = None


def parse_interface(body: Any, *, removing: bool) -> Interface:
    """Neutron's checks, in its words: one of subnet_id and port_id (both only when
    removing), each a UUID."""
    if not isinstance(body, dict):
        raise BadRequest("Body contains invalid data")
    named = {key: body[key] for key in ("subnet_id", "port_id") if key in body}
    if not named:
        raise ResourceBadRequest("router", "Either subnet_id or port_id must be specified")
    for key, value in named.items():
        try:
            named[key] = to_uuid(value)
        except ValueError as exc:
            raise ResourceBadRequest("router", str(exc)) from None
    if len(named) == 2 and not removing:
        raise ResourceBadRequest("router", "Cannot specify both subnet-id and port-id")
    return Interface(**named)


def parse_routes_body(body: Any) -> list[dict[str, str]]:
    """The body of add/remove_extraroutes: {"router": {"routes": [...]}}."""
    if not isinstance(body, dict) or not isinstance(body.get("router"), dict) or "routes" not in body["router"]:
        raise BadRequest("Failed to parse request. Required attribute 'routes' not specified")
    unknown = sorted(set(body["router"]) - {"routes"})
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    try:
        return _routes(body["router"]["routes"])
    except ValueError as exc:
        raise BadRequest(f"Invalid input for routes. Reason: {exc}.") from None
