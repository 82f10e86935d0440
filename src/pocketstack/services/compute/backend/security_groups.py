"""Nova's security groups, proxied to the networking service's (as Nova does since
nova-network went away): a server's groups are the groups of its ports, and the
deprecated os-security-groups / os-security-group-rules APIs are Neutron's groups seen
through Nova's older, ingress-only rule format.

Every check of a group or rule itself is the network backend's; this module adds what
Nova adds on its side of the proxy (nova/network/security_group_api.py): the name-or-id
lookup of `addSecurityGroup`, the per-port loop, and the conversion of a Nova rule
(ip_protocol, from_port, to_port, cidr, group_id) into a Neutron one. Nova's answers to
Neutron's refusals differ by operation (a 409 becomes a 400 or a 403), so the API
module maps them; here Neutron's faults are raised as they are."""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.faults import BadRequest, Conflict, NotFound
from pocketstack.core.ids import is_uuid
from pocketstack.services.network.backend import ports as network_ports
from pocketstack.services.network.backend import security_groups as network_groups
from pocketstack.services.network.backend.common import Viewer
from pocketstack.services.network.faults import SecurityGroupRuleExists
from pocketstack.services.network.models import Port, SecurityGroup, SecurityGroupRule
from pocketstack.services.network.schemas.ports import PortUpdate
from pocketstack.services.network.schemas.security_groups import RuleCreate, SecurityGroupCreate, SecurityGroupUpdate

from .. import networking
from ..models import Server

# what Nova's rule format knows; anything else is refused before Neutron sees it
NOVA_PROTOCOLS = ("TCP", "UDP", "ICMP")


def checked_id(value: str) -> str:
    """Nova's validate_id: an id that is no UUID is a bad request, not a missing group."""
    if not is_uuid(value):
        raise BadRequest("Security group id should be uuid")
    return value


# -- a server's groups ---------------------------------------------------------------------
def find_group(db: Session, ctx: RequestContext, name_or_id: str) -> SecurityGroup:
    """The group `addSecurityGroup` names, found as neutronclient finds it for Nova: by id
    among the groups the caller sees, else by name in the caller's project (409 when the
    name is not unique there)."""
    viewer = Viewer.of(ctx)
    if is_uuid(name_or_id):
        by_id = db.scalars(select(SecurityGroup).where(SecurityGroup.id == name_or_id, network_groups.visible_groups(viewer))).first()
        if by_id is not None:
            return by_id
    if name_or_id == network_groups.DEFAULT_NAME and ctx.project_id:
        # the project's default group exists from the moment anyone needs it (Neutron)
        network_groups.default_group(db, ctx.project_id)
    named = db.scalars(
        select(SecurityGroup).where(SecurityGroup.name == name_or_id, SecurityGroup.project_id == ctx.project_id).limit(2)
    ).all()
    if len(named) > 1:
        raise Conflict(f"Multiple security_group matches found for name '{name_or_id}', use an ID to be more specific.")
    if not named:
        raise NotFound(f"Security group {name_or_id} is not found for project {ctx.project_id}")
    return named[0]


def _ports_or_404(db: Session, server: Server) -> list[Port]:
    found = networking.ports_of(db, server.uuid)
    if not found:
        raise NotFound(f"instance_id {server.uuid} could not be found as device id on any ports")
    return found


def _set_port_groups(db: Session, ctx: RequestContext, port: Port, group_ids: list[str]) -> None:
    spec = PortUpdate.model_validate({"security_groups": group_ids})
    network_ports.update_port(db, Viewer.of(ctx), port, spec)


def add_to_server(db: Session, ctx: RequestContext, server: Server, name_or_id: str) -> None:
    """Nova's add_to_instance: the group joins every port of the server. All ports are
    checked before any changes, so a refusal leaves the server as it was."""
    group = find_group(db, ctx, name_or_id)
    found = _ports_or_404(db, server)
    for port in found:
        if not (port.port_security_enabled and port.fixed_ips):
            raise BadRequest("Network requires port_security_enabled and subnet associated in order to apply security groups.")
        if group.id in port.security_group_ids:
            # what Neutron says of the duplicate in the port update Nova sends
            raise BadRequest(f"Invalid input for security_groups. Reason: Duplicate items in the list: '{group.id}'.")
    for port in found:
        _set_port_groups(db, ctx, port, [*port.security_group_ids, group.id])
    refresh_names(db, server)


def remove_from_server(db: Session, ctx: RequestContext, server: Server, name_or_id: str) -> None:
    """Nova's remove_from_instance: the group leaves every port that has it; 404 when none
    has it."""
    group = find_group(db, ctx, name_or_id)
    holders = [port for port in _ports_or_404(db, server) if group.id in port.security_group_ids]
    if not holders:
        raise NotFound(f"Security group {name_or_id} not associated with the instance {server.uuid}")
    for port in holders:
        _set_port_groups(db, ctx, port, [gid for gid in port.security_group_ids if gid != group.id])
    refresh_names(db, server)


def refresh_names(db: Session, server: Server) -> None:
    """The server row's `security_groups` (what the server view shows): its ports' groups
    by name (a group without a name by its id), each once, in port order."""
    names: list[str] = []
    for port in networking.ports_of(db, server.uuid):
        for group_id in port.security_group_ids:
            group = db.get(SecurityGroup, group_id)
            if group is not None:
                names.append(group.name or group.id)
    server.security_groups = list(dict.fromkeys(names))


def server_groups(db: Session, ctx: RequestContext, server: Server) -> list[SecurityGroup]:
    """The groups of the server's ports that the caller may see, each once."""
    ids = list(dict.fromkeys(gid for port in networking.ports_of(db, server.uuid) for gid in port.security_group_ids))
    if not ids:
        return []
    query = select(SecurityGroup).where(SecurityGroup.id.in_(ids), network_groups.visible_groups(Viewer.of(ctx)))
    return list(db.scalars(query))


def remote_groups(db: Session, ctx: RequestContext, groups: list[SecurityGroup]) -> dict[str, SecurityGroup | None]:
    """The groups the ingress rules of `groups` name as their remote, by id; None for one
    the caller cannot see (Nova leaves such a rule out)."""
    known: dict[str, SecurityGroup | None] = {group.id: group for group in groups}
    viewer = Viewer.of(ctx)
    for group in groups:
        for rule in group.rules:
            if rule.remote_group_id and rule.remote_group_id not in known:
                known[rule.remote_group_id] = db.scalars(
                    select(SecurityGroup).where(SecurityGroup.id == rule.remote_group_id, network_groups.visible_groups(viewer))
                ).first()
    return known


# -- the os-security-groups proxy ----------------------------------------------------------------
def list_groups(db: Session, ctx: RequestContext, *, all_projects: bool) -> list[SecurityGroup]:
    """The caller's project's groups (every project's for an admin asking for all), oldest
    first; listing makes the caller's default group, as Neutron's listing does."""
    if ctx.project_id:
        network_groups.default_group(db, ctx.project_id)
    query = select(SecurityGroup).order_by(SecurityGroup.created_at, SecurityGroup.id)
    if not all_projects:
        query = query.where(SecurityGroup.project_id == ctx.project_id)
    return list(db.scalars(query))


def get_group(db: Session, ctx: RequestContext, group_id: str) -> SecurityGroup:
    return network_groups.get_group(db, Viewer.of(ctx), checked_id(group_id))


def create_group(db: Session, ctx: RequestContext, name: str, description: str) -> SecurityGroup:
    spec = SecurityGroupCreate.model_validate({"name": name, "description": description})
    return network_groups.create_group(db, ctx.project_id or "", spec)


def update_group(db: Session, group: SecurityGroup, name: str, description: str) -> SecurityGroup:
    spec = SecurityGroupUpdate.model_validate({"name": name, "description": description})
    return network_groups.update_group(db, group, spec)


def delete_group(db: Session, ctx: RequestContext, group: SecurityGroup) -> None:
    network_groups.delete_group(db, Viewer.of(ctx), group)


# -- the os-security-group-rules proxy --------------------------------------------------------------
@dataclass(frozen=True)
class NovaRule:
    """A rule as Nova's API asks for it (always ingress)."""

    parent_group_id: str
    group_id: str | None = None
    ip_protocol: Any = None
    from_port: Any = None
    to_port: Any = None
    cidr: Any = None


def create_rule(db: Session, ctx: RequestContext, asked: NovaRule) -> tuple[SecurityGroupRule, SecurityGroup | None]:
    """The new Neutron rule for a Nova one, and the remote group it names (if any)."""
    viewer = Viewer.of(ctx)
    parent = network_groups.get_group(db, viewer, asked.parent_group_id)
    remote = network_groups.get_group(db, viewer, asked.group_id) if asked.group_id is not None else None
    fields = _ingress_rule(asked)
    body = {
        "security_group_id": parent.id,
        "direction": "ingress",
        "protocol": fields.get("protocol"),
        "ethertype": _ethertype(fields.get("cidr")),
        "remote_ip_prefix": fields.get("cidr"),
        "remote_group_id": fields.get("group_id"),
    }
    # Nova's -1 (ICMP: any type or code) is Neutron's "no value"
    if fields.get("from_port", -1) != -1:
        body["port_range_min"] = fields["from_port"]
    if fields.get("to_port", -1) != -1:
        body["port_range_max"] = fields["to_port"]
    try:
        (made,) = network_groups.create_rules(db, viewer, [(ctx.project_id or "", RuleCreate.model_validate(body))])
    except SecurityGroupRuleExists:
        # Nova looks for the rule itself before asking Neutron, and calls it a bad request
        raise BadRequest(f"This rule already exists in group {parent.id}") from None
    return made, remote


def get_rule(db: Session, ctx: RequestContext, rule_id: str) -> SecurityGroupRule:
    return network_groups.get_rule(db, Viewer.of(ctx), checked_id(rule_id))


def delete_rule(db: Session, rule: SecurityGroupRule) -> None:
    network_groups.delete_rule(db, rule)


def _ethertype(cidr: str | None) -> str:
    # Nova shows no ethertype: a rule without a CIDR (a group rule) is IPv4 only
    if not cidr:
        return "IPv4"
    return "IPv6" if ipaddress.ip_network(cidr, strict=False).version == 6 else "IPv4"


def _ingress_rule(asked: NovaRule) -> dict[str, Any]:
    """Nova's _new_ingress_rule and its checks: a group rule opens every port of TCP/UDP
    (and every ICMP type) unless ports are given; a CIDR rule needs a protocol and both
    ports."""
    protocol, from_port, to_port = asked.ip_protocol, asked.from_port, asked.to_port
    values: dict[str, Any] = {}
    if asked.group_id is not None:
        values["group_id"] = asked.group_id
        upper = protocol.upper() if isinstance(protocol, str) else ""
        if from_port is None and to_port is None:
            if upper == "ICMP":
                from_port, to_port = -1, -1
            elif upper in ("TCP", "UDP"):
                from_port, to_port = 1, 65535
    else:
        values["cidr"] = _parsed_cidr(asked.cidr)
    if protocol and from_port is not None and to_port is not None:
        values.update(_checked_ports(str(protocol), from_port, to_port))
    elif "cidr" in values:
        raise BadRequest("Not enough parameters to build a valid rule.")
    if "cidr" in values:
        address, prefix = values["cidr"].split("/", 1)
        if address not in ("0.0.0.0", "::") and prefix == "0":
            raise BadRequest(f"Bad prefix for network in cidr {values['cidr']}")
    return values


def _checked_ports(protocol: str, from_port: Any, to_port: Any) -> dict[str, Any]:
    upper = protocol.upper()
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        reason = "Type and Code must be integers for ICMP protocol type" if upper == "ICMP" else "To and From ports must be integers"
        raise BadRequest(f"Invalid input received: {reason}") from None
    if upper not in NOVA_PROTOCOLS:
        raise BadRequest(f"Invalid IP protocol {protocol}.")
    if upper in ("TCP", "UDP"):
        if low > high:
            raise BadRequest(f"Invalid port range {low}:{high}. Former value cannot be greater than the later")
        if low < 1 or high > 65535:
            raise BadRequest(f"Invalid port range {low}:{high}. Valid {upper} ports should be between 1-65535")
    elif not (-1 <= low <= 255 and -1 <= high <= 255):
        raise BadRequest(f"Invalid port range {low}:{high}. For ICMP, the type:code must be valid")
    return {"protocol": protocol, "from_port": low, "to_port": high}


def _parsed_cidr(value: Any) -> str:
    """Nova's parse_cidr: none means anywhere; otherwise a URL-quoted "address/prefix"."""
    if not value:
        return "0.0.0.0/0"
    text = urllib.parse.unquote(value) if isinstance(value, str) else value
    if not isinstance(text, str) or "/" not in text or not text.split("/", 1)[1]:
        raise BadRequest(f"{value} is not a valid IP network.")
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise BadRequest(f"{value} is not a valid IP network.") from None
    return text
