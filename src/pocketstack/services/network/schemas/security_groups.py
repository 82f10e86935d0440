"""What a security group or rule request may say. A rule's protocol, ports, ethertype
and prefix are converted by the backend, which answers each mistake with Neutron's own
fault type (SecurityGroupRuleInvalidProtocol, SecurityGroupInvalidPortValue, ...)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ..common.attributes import Description, Name, NeutronBody, NeutronBool, Tags, none_or, string, to_uuid

GROUP_ATTRIBUTES = frozenset(
    {
        "id",
        "name",
        "description",
        "stateful",
        "security_group_rules",
        "tenant_id",
        "project_id",
        "tags",
        "created_at",
        "updated_at",
        "revision_number",
    }
)
RULE_ATTRIBUTES = frozenset(
    {
        "id",
        "security_group_id",
        "direction",
        "ethertype",
        "protocol",
        "port_range_min",
        "port_range_max",
        "remote_ip_prefix",
        "remote_group_id",
        "normalized_cidr",
        "description",
        "tenant_id",
        "project_id",
        "created_at",
        "updated_at",
        "revision_number",
    }
)


def _direction(value: Any) -> str:
    if value not in ("ingress", "egress"):
        raise ValueError(f"'{value}' is not in ['ingress', 'egress']")
    return str(value)


class SecurityGroupCreate(NeutronBody):
    name: Name = ""
    description: Description = ""
    stateful: NeutronBool = True
    tags: Tags = Field(default_factory=list)


class SecurityGroupUpdate(NeutronBody):
    name: Name = ""
    description: Description = ""
    stateful: NeutronBool = True


class RuleCreate(NeutronBody):
    security_group_id: Annotated[str, BeforeValidator(lambda v: to_uuid(string(36)(v)))]
    direction: Annotated[str, BeforeValidator(_direction)]
    protocol: Any = None
    port_range_min: Any = None
    port_range_max: Any = None
    ethertype: Any = "IPv4"
    remote_ip_prefix: Any = None
    # not checked as a UUID: Neutron looks any value up, and one that names no group is 404
    remote_group_id: Annotated[str | None, BeforeValidator(none_or(string(255)))] = None
    description: Description = ""
