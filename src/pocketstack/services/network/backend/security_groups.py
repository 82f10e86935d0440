"""Security groups and their rules (neutron/db/securitygroups_db.py).

Every project has a `default` group, made the first time it is needed (listing groups,
creating a group or a port): egress to anywhere and ingress from members of the same
group, for IPv4 and IPv6. A new group starts with the two egress rules. The agent (later)
turns these rows into stateful firewall rules per port.

Who sees a group or a rule: admins every one, others their own project's."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from ..common import standard
from ..common.listing import Attribute, Collection, as_boolean, as_integer
from ..faults import (
    DuplicateSecurityGroupRuleInPost,
    InvalidInput,
    SecurityGroupCannotRemoveDefault,
    SecurityGroupCannotUpdateDefault,
    SecurityGroupDefaultAlreadyExists,
    SecurityGroupEthertypeConflictWithProtocol,
    SecurityGroupInUse,
    SecurityGroupInvalidIcmpValue,
    SecurityGroupInvalidPortRange,
    SecurityGroupInvalidPortValue,
    SecurityGroupInvalidProtocolForPort,
    SecurityGroupMissingIcmpType,
    SecurityGroupMultipleRemoteEntites,
    SecurityGroupNotFound,
    SecurityGroupProtocolRequiredWithPorts,
    SecurityGroupRuleExists,
    SecurityGroupRuleInvalidProtocol,
    SecurityGroupRuleNotFound,
    SecurityGroupRuleParameterConflict,
)
from ..models import DefaultSecurityGroup, PortSecurityGroup, SecurityGroup, SecurityGroupRule
from ..schemas.security_groups import RuleCreate, SecurityGroupCreate, SecurityGroupUpdate
from . import quotas
from .common import Viewer, try_insert

DEFAULT_NAME = "default"
ETHERTYPES = ("IPv4", "IPv6")
# IANA protocol numbers of the names Neutron accepts (neutron_lib.constants.IP_PROTOCOL_MAP)
PROTOCOLS = {
    "ah": 51,
    "dccp": 33,
    "egp": 8,
    "esp": 50,
    "gre": 47,
    "hopopt": 0,
    "icmp": 1,
    "igmp": 2,
    "ip": 0,
    "ipip": 4,
    "ipv6-encap": 41,
    "ipv6-frag": 44,
    "ipv6-icmp": 58,
    "icmpv6": 58,  # the legacy name
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ipv6-route": 43,
    "ospf": 89,
    "pgm": 113,
    "rsvp": 46,
    "sctp": 132,
    "tcp": 6,
    "udp": 17,
    "udplite": 136,
    "vrrp": 112,
}
PORT_PROTOCOLS = ("dccp", "sctp", "tcp", "udp", "udplite")
ICMP_PROTOCOLS = ("icmp", "ipv6-icmp", "icmpv6")
IPV6_ONLY = ("ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route")
ANY = ("any", None)
SUPPORTED = ["any", *PROTOCOLS]

GROUPS = Collection(
    "security_groups",
    SecurityGroup,
    [
        Attribute("id", SecurityGroup.id),
        Attribute("name", SecurityGroup.name),
        Attribute("description", SecurityGroup.description),
        Attribute("project_id", SecurityGroup.project_id),
        Attribute("tenant_id", SecurityGroup.project_id),
        Attribute("stateful", SecurityGroup.stateful, as_boolean),
        Attribute("revision_number", SecurityGroup.revision_number, as_integer),
        Attribute("created_at", sort=SecurityGroup.created_at),
        Attribute("updated_at", sort=SecurityGroup.updated_at),
    ],
)
RULES = Collection(
    "security_group_rules",
    SecurityGroupRule,
    [
        Attribute("id", SecurityGroupRule.id),
        Attribute("description", SecurityGroupRule.description),
        Attribute("project_id", SecurityGroupRule.project_id),
        Attribute("tenant_id", SecurityGroupRule.project_id),
        Attribute("security_group_id", SecurityGroupRule.security_group_id),
        Attribute("direction", SecurityGroupRule.direction),
        Attribute("ethertype", SecurityGroupRule.ethertype),
        Attribute("protocol", SecurityGroupRule.protocol, sort=func.coalesce(SecurityGroupRule.protocol, "")),
        Attribute("port_range_min", SecurityGroupRule.port_range_min, as_integer, sort=func.coalesce(SecurityGroupRule.port_range_min, -1)),
        Attribute("port_range_max", SecurityGroupRule.port_range_max, as_integer, sort=func.coalesce(SecurityGroupRule.port_range_max, -1)),
        Attribute("remote_ip_prefix", SecurityGroupRule.remote_ip_prefix, sort=func.coalesce(SecurityGroupRule.remote_ip_prefix, "")),
        Attribute("remote_group_id", SecurityGroupRule.remote_group_id, sort=func.coalesce(SecurityGroupRule.remote_group_id, "")),
        Attribute("revision_number", SecurityGroupRule.revision_number, as_integer),
        Attribute("created_at", sort=SecurityGroupRule.created_at),
        Attribute("updated_at", sort=SecurityGroupRule.updated_at),
    ],
    tagged=False,
)


# -- visibility -----------------------------------------------------------------------------
def visible_groups(viewer: Viewer) -> Any:
    return true() if viewer.is_admin else SecurityGroup.project_id == viewer.project_id


def visible_rules(viewer: Viewer) -> Any:
    if viewer.is_admin:
        return true()
    mine = select(SecurityGroup.id).where(SecurityGroup.project_id == viewer.project_id)
    return SecurityGroupRule.security_group_id.in_(mine)


def get_group(db: Session, viewer: Viewer, group_id: str) -> SecurityGroup:
    group = db.scalars(select(SecurityGroup).where(SecurityGroup.id == group_id, visible_groups(viewer))).first()
    if group is None:
        raise SecurityGroupNotFound(group_id)
    return group


def get_rule(db: Session, viewer: Viewer, rule_id: str) -> SecurityGroupRule:
    rule = db.scalars(select(SecurityGroupRule).where(SecurityGroupRule.id == rule_id, visible_rules(viewer))).first()
    if rule is None:
        raise SecurityGroupRuleNotFound(rule_id)
    return rule


def is_default(db: Session, group: SecurityGroup) -> bool:
    return db.scalar(select(DefaultSecurityGroup.project_id).where(DefaultSecurityGroup.security_group_id == group.id)) is not None


def group_target(group: SecurityGroup) -> dict[str, Any]:
    return {"id": group.id, "project_id": group.project_id, "tenant_id": group.project_id, "security_group:project_id": group.project_id}


def rule_target(rule: SecurityGroupRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "project_id": rule.project_id,
        "tenant_id": rule.project_id,
        "security_group_id": rule.security_group_id,
        "security_group:project_id": rule.security_group.project_id,
    }


# -- the default group --------------------------------------------------------------------
def ensure_default(db: Session, project_id: str) -> SecurityGroup:
    """The project's default group, made now if it has none. Two requests making it at
    once: the primary key of network_default_security_groups keeps one, the other
    request uses that one."""
    found = _default_of(db, project_id)
    if found is not None:
        return found
    with db.begin_nested():
        group = _new_group(db, project_id, DEFAULT_NAME, "Default security group", stateful=True)
        for ethertype in ETHERTYPES:
            _add_rule(db, group, project_id, direction="ingress", ethertype=ethertype, remote_group_id=group.id)
        if not try_insert(db, DefaultSecurityGroup(project_id=project_id, security_group_id=group.id)):
            raise _LostRace()
    return group


class _LostRace(Exception):
    pass


def _default_of(db: Session, project_id: str) -> SecurityGroup | None:
    group_id = db.scalar(select(DefaultSecurityGroup.security_group_id).where(DefaultSecurityGroup.project_id == project_id))
    return None if group_id is None else db.get(SecurityGroup, group_id)


def default_group(db: Session, project_id: str) -> SecurityGroup:
    try:
        return ensure_default(db, project_id)
    except _LostRace:
        found = _default_of(db, project_id)
        assert found is not None
        return found


def _new_group(db: Session, project_id: str, name: str, description: str, *, stateful: bool) -> SecurityGroup:
    group = SecurityGroup(name=name, stateful=stateful)
    standard.stamp_new(group, project_id, description)
    db.add(group)
    db.flush()
    for ethertype in ETHERTYPES:
        _add_rule(db, group, project_id, direction="egress", ethertype=ethertype)
    return group


def _add_rule(db: Session, group: SecurityGroup, project_id: str, **fields: Any) -> SecurityGroupRule:
    rule = SecurityGroupRule(**fields)
    standard.stamp_new(rule, project_id, fields.pop("description", ""))
    group.rules.append(rule)
    db.flush()
    return rule


# -- groups ---------------------------------------------------------------------------------
def create_group(db: Session, project_id: str, spec: SecurityGroupCreate) -> SecurityGroup:
    if spec.name.lower() == DEFAULT_NAME:
        raise SecurityGroupDefaultAlreadyExists()
    default_group(db, project_id)
    quotas.check(db, project_id, "security_group")
    group = _new_group(db, project_id, spec.name, spec.description, stateful=spec.stateful)
    if spec.tags:
        standard.replace_tags(db, group, spec.tags, "security_groups")
        group.revision_number = 0
    return group


def update_group(db: Session, group: SecurityGroup, spec: SecurityGroupUpdate) -> SecurityGroup:
    fields = spec.model_fields_set
    if "name" in fields and spec.name != group.name:
        if is_default(db, group):
            raise SecurityGroupCannotUpdateDefault()
        if spec.name.lower() == DEFAULT_NAME:
            raise SecurityGroupDefaultAlreadyExists()
    if "stateful" in fields and spec.stateful != group.stateful and _in_use(db, group):
        raise SecurityGroupInUse(group.id)
    for name in ("name", "description", "stateful"):
        if name in fields:
            setattr(group, name, getattr(spec, name))
    standard.bump(group)
    db.flush()
    return group


def delete_group(db: Session, viewer: Viewer, group: SecurityGroup) -> None:
    if is_default(db, group) and not viewer.is_admin:
        raise SecurityGroupCannotRemoveDefault()
    if _in_use(db, group):
        raise SecurityGroupInUse(group.id)
    db.delete(group)
    db.flush()


def _in_use(db: Session, group: SecurityGroup) -> bool:
    return db.scalar(select(PortSecurityGroup.port_id).where(PortSecurityGroup.security_group_id == group.id).limit(1)) is not None


def groups_for_port(db: Session, viewer: Viewer, project_id: str, group_ids: list[str]) -> list[SecurityGroup]:
    """The groups a port of `project_id` asks for: each must be that project's (admins
    may name any)."""
    groups = []
    for group_id in group_ids:
        group = db.get(SecurityGroup, group_id)
        if group is None or (group.project_id != project_id and not viewer.is_admin):
            raise SecurityGroupNotFound(group_id)
        groups.append(group)
    return groups


# -- rules ---------------------------------------------------------------------------------
def create_rules(db: Session, viewer: Viewer, items: list[tuple[str, RuleCreate]]) -> list[SecurityGroupRule]:
    """Create rules (one, or a bulk): all checked before any is written."""
    checked = [(project_id, _checked_rule(db, viewer, project_id, spec)) for project_id, spec in items]
    keys = [_rule_key(fields) for _, fields in checked]
    if len(set(keys)) != len(keys):
        raise DuplicateSecurityGroupRuleInPost()
    made = []
    for (project_id, fields), key in zip(checked, keys):
        group: SecurityGroup = fields.pop("group")
        for existing in group.rules:
            if _rule_key(_fields_of(existing)) == key:
                raise SecurityGroupRuleExists(existing.id)
        quotas.check(db, project_id, "security_group_rule")
        made.append(_add_rule(db, group, project_id, **fields))
        standard.bump(group)
    db.flush()
    return made


def delete_rule(db: Session, rule: SecurityGroupRule) -> None:
    group = rule.security_group
    group.rules.remove(rule)
    standard.bump(group)
    db.flush()


def _checked_rule(db: Session, viewer: Viewer, project_id: str, spec: RuleCreate) -> dict[str, Any]:
    """Neutron's conversions and checks of one rule, in Neutron's order."""
    protocol = convert_protocol(spec.protocol)
    port_min, port_max = convert_port(spec.port_range_min), convert_port(spec.port_range_max)
    ethertype = convert_ethertype(spec.ethertype)
    prefix = convert_prefix(spec.remote_ip_prefix)
    if prefix is not None and spec.remote_group_id is not None:
        raise SecurityGroupMultipleRemoteEntites(
            "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided."
        )
    port_min, port_max = check_port_range(protocol, port_min, port_max)
    if prefix is not None and ipaddress.ip_network(prefix, strict=False).version != int(ethertype[-1]):
        raise SecurityGroupRuleParameterConflict(f"Conflicting value ethertype {ethertype} for CIDR {spec.remote_ip_prefix}")
    if protocol in IPV6_ONLY or protocol in {str(PROTOCOLS[name]) for name in IPV6_ONLY}:
        if ethertype == "IPv4":
            raise SecurityGroupEthertypeConflictWithProtocol(f"Invalid ethertype {ethertype} for protocol {protocol}.")
    if spec.remote_group_id is not None:
        remote = db.get(SecurityGroup, spec.remote_group_id)
        if remote is None or (remote.project_id != project_id and not viewer.is_admin):
            raise SecurityGroupNotFound(spec.remote_group_id)
    group = db.get(SecurityGroup, spec.security_group_id)
    if group is None or (group.project_id != project_id and not viewer.is_admin):
        raise SecurityGroupNotFound(spec.security_group_id)
    return {
        "group": group,
        "direction": spec.direction,
        "ethertype": ethertype,
        "protocol": protocol,
        "port_range_min": port_min,
        "port_range_max": port_max,
        "remote_ip_prefix": prefix,
        "remote_group_id": spec.remote_group_id,
        "description": spec.description,
    }


def convert_protocol(value: Any) -> str | None:
    if value in ANY:
        return None
    if isinstance(value, bool):
        raise _invalid_protocol(value)
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        if 0 <= int(value) <= 255:
            return str(value)
        raise _invalid_protocol(value)
    if isinstance(value, str) and value.lower() in PROTOCOLS:
        return value.lower()
    raise _invalid_protocol(value)


def _invalid_protocol(value: Any) -> SecurityGroupRuleInvalidProtocol:
    return SecurityGroupRuleInvalidProtocol(
        f"Security group rule protocol {value} not supported. Only protocol values {SUPPORTED} and integer representations [0 to 255] are supported."
    )


def convert_port(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        if 0 <= int(value) <= 65535:
            return int(value)
    raise SecurityGroupInvalidPortValue(f"Invalid value for port {value}")


def convert_ethertype(value: Any) -> str:
    if isinstance(value, str):
        for ethertype in ETHERTYPES:
            if ethertype.lower() == value.lower():
                return ethertype
    raise InvalidInput(f"Security group rule for ethertype '{value}' not supported. Allowed values are {list(ETHERTYPES)}")


def convert_prefix(value: Any) -> str | None:
    """A CIDR ("10.0.0.0/24"; an address alone is a /32 or /128), host bits kept as given."""
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise InvalidInput(f"Invalid CIDR {value} given as IP prefix") from None
    if "/" not in value:
        return str(network)
    address = ipaddress.ip_address(value.split("/", 1)[0])
    return f"{address}/{network.prefixlen}"


def _protocol_name(protocol: str | None) -> str | None:
    if protocol is None or not protocol.isdigit():
        return protocol
    return next((name for name, number in PROTOCOLS.items() if str(number) == protocol and name != "icmpv6"), protocol)


def check_port_range(protocol: str | None, port_min: int | None, port_max: int | None) -> tuple[int | None, int | None]:
    if port_min is None and port_max is None:
        return None, None
    if protocol is None:
        raise SecurityGroupProtocolRequiredWithPorts("Must also specify protocol if port range is given.")
    name = _protocol_name(protocol)
    if name in PORT_PROTOCOLS:
        if port_min == 0 or port_max == 0:
            raise SecurityGroupInvalidPortValue("Invalid value for port 0")
        if port_min is None or port_max is None or port_min > port_max:
            raise SecurityGroupInvalidPortRange("For TCP/UDP protocols, port_range_min must be <= port_range_max")
        if (port_min, port_max) == (1, 65535):
            return None, None  # the whole range is no range, as Neutron stores it
        return port_min, port_max
    if name in ICMP_PROTOCOLS:
        for value, field, attribute in ((port_min, "type", "port_range_min"), (port_max, "code", "port_range_max")):
            if value is not None and not 0 <= value <= 255:
                raise SecurityGroupInvalidIcmpValue(f"Invalid value for ICMP {field} ({attribute}) {value}. It must be 0 to 255.")
        if port_min is None and port_max is not None:
            raise SecurityGroupMissingIcmpType(
                f"ICMP code (port-range-max) {port_max} is provided but ICMP type (port-range-min) is missing."
            )
        return port_min, port_max
    raise SecurityGroupInvalidProtocolForPort(
        f"Ports cannot be specified for protocol {protocol}. Ports are only supported for {', '.join(p.upper() for p in PORT_PROTOCOLS)}."
    )


def normalized_cidr(prefix: str | None) -> str | None:
    return None if prefix is None else str(ipaddress.ip_network(prefix, strict=False))


def _fields_of(rule: SecurityGroupRule) -> dict[str, Any]:
    return {
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "protocol": rule.protocol,
        "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix,
        "remote_group_id": rule.remote_group_id,
        "group": rule.security_group,
    }


def _rule_key(fields: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two rules the same (Neutron's _rule_to_key): protocols by number, the
    whole address space as no prefix, prefixes by their network."""
    protocol = fields["protocol"]
    if protocol is not None:
        if fields["ethertype"] == "IPv6" and protocol in ("icmp", "icmpv6", "1"):
            protocol = "ipv6-icmp"
        protocol = str(PROTOCOLS.get(protocol, protocol))
    prefix = normalized_cidr(fields["remote_ip_prefix"])
    if prefix in ("0.0.0.0/0", "::/0"):
        prefix = None
    return (
        fields["group"].id,
        fields["direction"],
        fields["ethertype"],
        protocol,
        fields["port_range_min"],
        fields["port_range_max"],
        prefix,
        fields["remote_group_id"],
    )
