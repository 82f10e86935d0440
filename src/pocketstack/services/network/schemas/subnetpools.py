"""What a subnet pool request may say (neutron-lib's subnetpool attribute map, and the
bodies of add_prefixes / remove_prefixes). How the prefix lengths relate to each other
and to the prefixes is the backend's question."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from pocketstack.core.faults import BadRequest

from ..common.attributes import Description, NeutronBody, NeutronBool, Tags, integer_range, list_of, none_or, string, to_cidr

ATTRIBUTES = frozenset(
    {
        "id",
        "name",
        "description",
        "tenant_id",
        "project_id",
        "prefixes",
        "default_quota",
        "ip_version",
        "default_prefixlen",
        "min_prefixlen",
        "max_prefixlen",
        "is_default",
        "shared",
        "address_scope_id",
        "tags",
        "created_at",
        "updated_at",
        "revision_number",
    }
)


def _name(value: Any) -> str:
    text = string(255)(value)
    if not text.strip():
        raise ValueError(f"'{value}' Blank strings are not permitted")
    return text


def _no_scope(value: Any) -> None:
    """address_scope_id: address scopes are not a feature of this cloud; null only."""
    if value is not None:
        raise ValueError("Address scopes are not supported by this cloud")
    return None


Prefixes = Annotated[list[str], BeforeValidator(list_of(to_cidr, what="list of subnets"))]
Prefixlen = Annotated[int | None, BeforeValidator(none_or(integer_range(0, 128)))]
Quota = Annotated[int | None, BeforeValidator(none_or(integer_range(0, 2**31 - 1)))]
NoScope = Annotated[None, BeforeValidator(_no_scope)]


class SubnetPoolCreate(NeutronBody):
    name: Annotated[str, BeforeValidator(_name)]
    prefixes: Prefixes
    description: Description = ""
    default_prefixlen: Prefixlen = None  # absent: min_prefixlen
    min_prefixlen: Prefixlen = None  # absent: 8 (IPv4), 64 (IPv6)
    max_prefixlen: Prefixlen = None  # absent: 32 / 128
    default_quota: Quota = None
    shared: NeutronBool = False
    is_default: NeutronBool = False
    address_scope_id: NoScope = None
    tags: Tags = Field(default_factory=list)


class SubnetPoolUpdate(NeutronBody):
    name: Annotated[str, BeforeValidator(_name)] = ""
    description: Description = ""
    prefixes: Prefixes = Field(default_factory=list)
    default_prefixlen: Prefixlen = None
    min_prefixlen: Prefixlen = None
    max_prefixlen: Prefixlen = None
    default_quota: Quota = None
    is_default: NeutronBool = False
    address_scope_id: NoScope = None


def parse_prefixes_body(body: Any) -> list[str]:
    """The body of add_prefixes / remove_prefixes: {"prefixes": [cidr, ...]}."""
    if not isinstance(body, dict) or "prefixes" not in body:
        raise BadRequest("Failed to parse request. Required attribute 'prefixes' not specified")
    try:
        return list_of(to_cidr, what="list of subnets")(body["prefixes"])
    except ValueError as exc:
        raise BadRequest(f"Invalid input for prefixes. Reason: {exc}.") from None
