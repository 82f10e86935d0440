"""The networking service's tables: Neutron's core (networks, subnets, ports, security
groups, quotas), L3 (routers with their static routes, floating IPs) and the agents'
heartbeats. Every table is prefixed "network_".

These rows are the *desired* state. A network agent (later) reconciles the dataplane
from them: it reads the segments to build bridges, the ports with their bindings and
addresses to plug taps and fill dnsmasq, and the security group rules to write the
firewall; it reports back through the status columns (ports stay DOWN until bound).

Uniqueness that must hold under concurrency is the database's job:
- an address is handed out once per subnet: the primary key (subnet_id, ip_address) of
  network_ip_allocations;
- a MAC address once per network: UNIQUE(network_id, mac_address) on ports;
- a VLAN id per physical network and a VXLAN id: UNIQUE(network_type, physical_network,
  segmentation_id) on segments (flat networks use segmentation id 0, "untagged");
- one default security group per project: the primary key of network_default_security_groups;
- one RBAC entry per (network, action, target project);
- one floating IP per fixed address of a port on an external network:
  UNIQUE(floating_network_id, fixed_port_id, fixed_ip_address);
- one agent of a type per host: UNIQUE(agent_type, host);
- one auto-allocated topology per project: the primary key of
  network_auto_allocated_topologies.

Router ports are ordinary ports, found by device_id (the router's id) and device_owner
("network:router_interface", "network:router_gateway"), as Neutron finds them; a
floating IP's own address is a port on the external network with device_owner
"network:floatingip" and device_id the floating IP's id, so IPAM stays in one place.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from pocketstack.core.db import Base, JsonText, UtcDateTime

# statuses, as Neutron names them
ACTIVE = "ACTIVE"
DOWN = "DOWN"
BUILD = "BUILD"
NOT_APPLICABLE = "N/A"  # ports that nothing plugs (a floating IP's address)

UUID_LENGTH = 36
NAME_LENGTH = 255
DESCRIPTION_LENGTH = 255
PROJECT_ID_LENGTH = 255


class Tag(Base):
    """A tag of any resource with standard attributes. Resource ids are UUIDs, unique
    across resource types, so one table serves them all (Neutron keys its tags on the
    standard attribute row in the same spirit)."""

    __tablename__ = "network_tags"

    resource_id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class StandardAttributes:
    """Neutron's standard attributes, shared by every resource below: description,
    revision_number (bumped on every change), created_at/updated_at, and tags."""

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LENGTH), index=True)
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LENGTH), default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    @declared_attr
    def tag_rows(cls) -> Mapped[list[Tag]]:
        # no foreign key (one tag table for every resource type): the join is declared here
        return relationship(
            Tag,
            primaryjoin=f"foreign(Tag.resource_id) == {cls.__name__}.id",
            cascade="all, delete-orphan",
            lazy="selectin",
            order_by=Tag.tag,
            # every resource's relationship writes Tag.resource_id: they overlap on purpose
            overlaps="tag_rows",
        )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class Network(StandardAttributes, Base):
    __tablename__ = "network_networks"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)  # shared with every project (see NetworkRbac)
    external: Mapped[bool] = mapped_column(Boolean, default=False)  # "router:external" (see NetworkRbac)
    # the cloud's default external network (auto-allocated-topology); only ever true while external
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JsonText, default=list)

    segment: Mapped[Segment] = relationship(back_populates="network", cascade="all, delete-orphan", lazy="joined", uselist=False)
    subnets: Mapped[list[Subnet]] = relationship(back_populates="network", lazy="selectin", order_by="Subnet.created_at, Subnet.id")
    rbac_entries: Mapped[list[NetworkRbac]] = relationship(
        back_populates="network", cascade="all, delete-orphan", lazy="selectin", order_by="NetworkRbac.id"
    )


class NetworkRbac(Base):
    """Who else may use a network: as shared (access_as_shared: ports and subnets on it)
    or as external (access_as_external: routers and floating IPs), one project or every
    project ("*"). The flags Network.shared (a "*" shared entry exists) and
    Network.external (any external entry exists) follow these rows."""

    __tablename__ = "network_rbac_policies"
    __table_args__ = (UniqueConstraint("object_id", "action", "target_project"),)

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LENGTH), index=True)  # who granted it
    object_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_project: Mapped[str] = mapped_column(String(PROJECT_ID_LENGTH), index=True)

    network: Mapped[Network] = relationship(back_populates="rbac_entries")


class Segment(Base):
    """How a network is carried: flat or VLAN on a physical network, VXLAN, or local.
    physical_network is "" when there is none; segmentation_id is NULL for local
    networks (never unique) and 0 for flat ones (one flat network per physical network)."""

    __tablename__ = "network_segments"
    __table_args__ = (UniqueConstraint("network_type", "physical_network", "segmentation_id"),)

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="CASCADE"), unique=True)
    network_type: Mapped[str] = mapped_column(String(32))
    physical_network: Mapped[str] = mapped_column(String(64), default="")
    segmentation_id: Mapped[int | None] = mapped_column(Integer)

    network: Mapped[Network] = relationship(back_populates="segment")


class Subnet(StandardAttributes, Base):
    __tablename__ = "network_subnets"

    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16))
    # [{"start": ..., "end": ...}], in address order
    allocation_pools: Mapped[list[dict[str, str]]] = mapped_column(JsonText, default=list)
    dns_nameservers: Mapped[list[str]] = mapped_column(JsonText, default=list)
    # [{"destination": cidr, "nexthop": address}]
    host_routes: Mapped[list[dict[str, str]]] = mapped_column(JsonText, default=list)
    service_types: Mapped[list[str]] = mapped_column(JsonText, default=list)
    # the pool its CIDR was allocated from (a pool with subnets cannot go)
    subnetpool_id: Mapped[str | None] = mapped_column(ForeignKey("network_subnetpools.id"), index=True)

    network: Mapped[Network] = relationship(back_populates="subnets")


class SubnetPool(StandardAttributes, Base):
    """A pool of prefixes subnets take their CIDRs from (subnet_allocation): a subnet
    asks for a prefix length and gets the first free block of that size. `prefixes`
    is kept compacted (no overlaps), largest blocks last as Neutron orders them."""

    __tablename__ = "network_subnetpools"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    prefixes: Mapped[list[str]] = mapped_column(JsonText, default=list)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    default_quota: Mapped[int | None] = mapped_column(Integer)  # per project, in /32 (IPv4) or /64 (IPv6) units


class Port(StandardAttributes, Base):
    __tablename__ = "network_ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),)

    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default=DOWN)
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # [{"ip_address": address or cidr, "mac_address": mac}]
    allowed_address_pairs: Mapped[list[dict[str, str]]] = mapped_column(JsonText, default=list)
    # binding: the host the port is (to be) plugged on, and what the dataplane says about it
    binding_host_id: Mapped[str] = mapped_column(String(255), default="")
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vif_details: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)
    binding_profile: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)

    network: Mapped[Network] = relationship(lazy="joined")
    fixed_ips: Mapped[list[IpAllocation]] = relationship(
        back_populates="port", cascade="all, delete-orphan", lazy="selectin", order_by="IpAllocation.position"
    )
    security_group_bindings: Mapped[list[PortSecurityGroup]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PortSecurityGroup.security_group_id"
    )

    @property
    def security_group_ids(self) -> list[str]:
        return [binding.security_group_id for binding in self.security_group_bindings]


class IpAllocation(Base):
    """An address handed to a port. The primary key makes the database refuse the same
    address twice in a subnet, whoever asks and however many ask at once."""

    __tablename__ = "network_ip_allocations"

    subnet_id: Mapped[str] = mapped_column(ForeignKey("network_subnets.id"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)  # canonical text
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the order fixed_ips lists them in

    port: Mapped[Port] = relationship(back_populates="fixed_ips")


class SecurityGroup(StandardAttributes, Base):
    __tablename__ = "network_security_groups"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)

    rules: Mapped[list[SecurityGroupRule]] = relationship(
        back_populates="security_group",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="SecurityGroupRule.created_at, SecurityGroupRule.id",
        foreign_keys="SecurityGroupRule.security_group_id",
    )


class DefaultSecurityGroup(Base):
    """Which group is a project's `default` one; the key keeps it to one per project even
    when two requests make it at the same moment."""

    __tablename__ = "network_default_security_groups"

    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LENGTH), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("network_security_groups.id", ondelete="CASCADE"), unique=True)


class SecurityGroupRule(StandardAttributes, Base):
    __tablename__ = "network_security_group_rules"

    security_group_id: Mapped[str] = mapped_column(ForeignKey("network_security_groups.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40))  # a name or a number 0-255, as given
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    # a rule naming a group goes with that group
    remote_group_id: Mapped[str | None] = mapped_column(ForeignKey("network_security_groups.id", ondelete="CASCADE"), index=True)

    security_group: Mapped[SecurityGroup] = relationship(back_populates="rules", foreign_keys=[security_group_id])


class PortSecurityGroup(Base):
    """A port's membership of a security group; a group with members cannot go (RESTRICT)."""

    __tablename__ = "network_port_security_groups"

    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("network_security_groups.id"), primary_key=True, index=True)


class Quota(Base):
    """A project's limit for one resource, where it differs from the default."""

    __tablename__ = "network_quotas"

    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LENGTH), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class Router(StandardAttributes, Base):
    """A router: its interfaces and gateway are ports (device_id = the router's id); the
    gateway port's network is the router's external network. enable_snat only matters
    while there is a gateway (Neutron keeps it on the router too)."""

    __tablename__ = "network_routers"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JsonText, default=list)

    routes: Mapped[list[RouterRoute]] = relationship(
        back_populates="router", cascade="all, delete-orphan", lazy="selectin", order_by="RouterRoute.destination, RouterRoute.nexthop"
    )


class RouterRoute(Base):
    """A static route of a router (the extraroute extension): packets for `destination`
    go to `nexthop`, an address on one of the router's connected subnets."""

    __tablename__ = "network_router_routes"

    router_id: Mapped[str] = mapped_column(ForeignKey("network_routers.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(64), primary_key=True)  # a CIDR
    nexthop: Mapped[str] = mapped_column(String(64), primary_key=True)

    router: Mapped[Router] = relationship(back_populates="routes")


class FloatingIp(StandardAttributes, Base):
    """A floating IP: an address of an external network (held by `floating_port`), and,
    while associated, the port and fixed address it is translated to and the router
    that does it (the one joining the port's subnet to the external network)."""

    __tablename__ = "network_floating_ips"
    __table_args__ = (UniqueConstraint("floating_network_id", "fixed_port_id", "fixed_ip_address"),)

    floating_network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"), index=True)
    # the address's own port goes, the floating IP goes (as in Neutron)
    floating_port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), unique=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    fixed_port_id: Mapped[str | None] = mapped_column(ForeignKey("network_ports.id", ondelete="SET NULL"), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(ForeignKey("network_routers.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=DOWN)

    floating_port: Mapped[Port] = relationship(foreign_keys=[floating_port_id], lazy="joined")
    fixed_port: Mapped[Port | None] = relationship(foreign_keys=[fixed_port_id], lazy="joined")


class Agent(Base):
    """An agent as it last reported itself (report_agent, every pass of its loop). Alive
    is not stored: it is a heartbeat newer than the agents' down time."""

    __tablename__ = "network_agents"
    __table_args__ = (UniqueConstraint("agent_type", "host"),)

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH))
    configurations: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    heartbeat_timestamp: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AutoAllocatedTopology(Base):
    """A project's auto-allocated topology ("get me a network"): its network, and the router
    joining it to the default external network. The key is the project, so two first
    requests of one project at the same moment cannot both record one: the second is
    refused and uses the first's. The row goes with its network; a router deleted by hand
    leaves it without one (as Neutron's auto_allocated_topologies)."""

    __tablename__ = "network_auto_allocated_topologies"

    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LENGTH), primary_key=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="CASCADE"), index=True)
    router_id: Mapped[str | None] = mapped_column(ForeignKey("network_routers.id", ondelete="SET NULL"), index=True)
