"""The network agent against a real database and the noop dataplane: which pieces it
asks for from the rows the network backend writes (DHCP ports included), what it
removes when rows go, and the statuses it writes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pocketstack.agents.network import DHCP_OWNER, NetworkAgent, dhcp_device_id, wake_on_commits
from pocketstack.config import NetworkSettings, Settings
from pocketstack.core.db import Database
from pocketstack.drivers.network.base import bridge_name, dhcp_namespace, router_namespace, tap_name
from pocketstack.drivers.network.noop import NoopDataplane
from pocketstack.migrations import upgrade
from pocketstack.services.network.backend import floating_ips, networks, ports, routers, security_groups, subnets
from pocketstack.services.network.backend.common import Viewer
from pocketstack.services.network.models import FloatingIp, Network, Port
from pocketstack.services.network.schemas.floating_ips import FloatingIpCreate
from pocketstack.services.network.schemas.networks import NetworkCreate
from pocketstack.services.network.schemas.ports import PortCreate, PortUpdate
from pocketstack.services.network.schemas.routers import RouterCreate
from pocketstack.services.network.schemas.security_groups import RuleCreate, SecurityGroupCreate
from pocketstack.services.network.schemas.subnets import SubnetCreate

HOST = "h1"
PROJECT = "p" * 32
ADMIN = Viewer(PROJECT, True)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'agent.db'}"
    upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def agent(db: Database, tmp_path: Path) -> NetworkAgent:
    settings = Settings(data_dir=tmp_path, network=NetworkSettings(host=HOST, bridge_mappings={"public": "br-ex"}))
    return NetworkAgent(settings, db, NoopDataplane())


def driver(agent: NetworkAgent) -> NoopDataplane:
    assert isinstance(agent.driver, NoopDataplane)
    return agent.driver


def make_network(db: Database, cidr: str = "10.0.0.0/24", **fields: Any) -> tuple[str, str]:
    subnet_fields = fields.pop("subnet", {})
    with db.write() as s:
        network = networks.create_network(s, PROJECT, NetworkCreate.model_validate({"name": "n", **fields}))
        subnet = subnets.create_subnet(
            s, PROJECT, network, SubnetCreate.model_validate({"network_id": network.id, "ip_version": 4, "cidr": cidr, **subnet_fields})
        )
        return network.id, subnet.id


class Made:
    """What a test needs of a port it made: id, MAC, first address."""

    def __init__(self, port: Port) -> None:
        self.id = port.id
        self.mac_address = port.mac_address
        self.ip = port.fixed_ips[0].ip_address


def make_port(db: Database, network_id: str, **fields: Any) -> Made:
    with db.write() as s:
        network = s.get(Network, network_id)
        assert network is not None
        port = ports.create_port(s, ADMIN, PROJECT, network, PortCreate.model_validate({"network_id": network_id, **fields}))
        s.refresh(port)
        return Made(port)


def status(db: Database, port_id: str) -> str:
    with db.read() as s:
        port = s.get(Port, port_id)
        assert port is not None
        return port.status


def test_a_dhcp_network_gets_its_port_bridge_and_server(db: Database, agent: NetworkAgent) -> None:
    network_id, subnet_id = make_network(db)
    guest = make_port(db, network_id, **{"binding:host_id": HOST})
    elsewhere = make_port(db, network_id, **{"binding:host_id": "other-host"})
    agent.reconcile()
    with db.read() as s:
        (row,) = s.scalars(select(Port).where(Port.device_owner == DHCP_OWNER))
        assert row.binding_host_id == HOST and row.device_id == dhcp_device_id(HOST, network_id)
        assert [h.subnet_id for h in row.fixed_ips] == [subnet_id]
        dhcp_port = Made(row)
    plane = driver(agent)
    assert plane.networks[network_id].bridge == bridge_name(network_id) and plane.networks[network_id].mtu == 1450
    dhcp = plane.dhcp[network_id]
    assert dhcp.namespace == dhcp_namespace(network_id) and dhcp.port_id == dhcp_port.id
    assert dhcp.addresses == (f"{dhcp_port.ip}/24",)
    assert {(h.mac, h.ip) for h in dhcp.hosts} == {(p.mac_address, p.ip) for p in (guest, elsewhere)}
    assert set(plane.ports) == {guest.id}  # only this host's ports get a tap
    assert plane.ports[guest.id].device == tap_name(guest.id)
    assert status(db, guest.id) == "ACTIVE" and status(db, dhcp_port.id) == "ACTIVE"
    assert status(db, elsewhere.id) == "DOWN"
    # a second pass changes nothing in the database
    agent.reconcile()
    with db.read() as s:
        assert len(list(s.scalars(select(Port).where(Port.device_owner == DHCP_OWNER)))) == 1


def test_the_dhcp_port_follows_the_subnets(db: Database, agent: NetworkAgent) -> None:
    network_id, subnet_id = make_network(db)
    agent.reconcile()
    with db.write() as s:
        network = s.get(Network, network_id)
        assert network is not None
        second = subnets.create_subnet(
            s, PROJECT, network, SubnetCreate.model_validate({"network_id": network_id, "ip_version": 4, "cidr": "10.1.0.0/24"})
        ).id
    agent.reconcile()
    assert {s.id for s in driver(agent).dhcp[network_id].subnets} == {subnet_id, second}
    assert len(driver(agent).dhcp[network_id].addresses) == 2
    with db.write() as s:
        for subnet in s.get(Network, network_id).subnets:  # type: ignore[union-attr]
            subnet.enable_dhcp = False
    agent.reconcile()
    assert network_id not in driver(agent).dhcp
    with db.read() as s:
        assert list(s.scalars(select(Port).where(Port.device_owner == DHCP_OWNER))) == []


def test_security_groups_become_port_filters(db: Database, agent: NetworkAgent) -> None:
    network_id, _ = make_network(db)
    with db.write() as s:
        web = security_groups.create_group(s, PROJECT, SecurityGroupCreate.model_validate({"name": "web"}))
        clients = security_groups.create_group(s, PROJECT, SecurityGroupCreate.model_validate({"name": "clients"}))
        rules = [
            {"security_group_id": web.id, "direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80},
            {"security_group_id": web.id, "direction": "ingress", "protocol": "vrrp"},
            {"security_group_id": web.id, "direction": "ingress", "protocol": "udp", "remote_group_id": clients.id},
        ]
        security_groups.create_rules(s, ADMIN, [(PROJECT, RuleCreate.model_validate(r)) for r in rules])
        web_id, clients_id = web.id, clients.id
    server = make_port(db, network_id, security_groups=[web_id], **{"binding:host_id": HOST})
    client = make_port(
        db, network_id, security_groups=[clients_id], allowed_address_pairs=[{"ip_address": "10.9.9.9"}], **{"binding:host_id": "other"}
    )
    unfiltered = make_port(db, network_id, port_security_enabled=False, security_groups=[], **{"binding:host_id": HOST})
    agent.reconcile()
    firewall = driver(agent).firewall
    (port_filter,) = firewall.filters
    assert port_filter.port_id == server.id and port_filter.mac == server.mac_address
    assert port_filter.bridge == bridge_name(network_id)  # whose conntrack zone its flows are in
    assert port_filter.ips == (server.ip,)
    protocols = {(r.direction, r.protocol, r.port_min, r.remote_group_id) for r in port_filter.rules}
    assert ("ingress", "6", 80, None) in protocols
    assert ("ingress", "112", None, None) in protocols  # vrrp by its number
    assert ("ingress", "17", None, clients_id) in protocols
    assert ("egress", None, None, None) in protocols  # a new group's egress rules
    assert firewall.group_members[clients_id] == tuple(sorted({client.ip, "10.9.9.9"}))
    dhcp_device = driver(agent).dhcp[network_id].device
    assert set(firewall.open_devices) == {tap_name(unfiltered.id), dhcp_device}
    # a member leaves the group: the set follows
    with db.write() as s:
        ports.update_port(s, ADMIN, s.get(Port, client.id), PortUpdate.model_validate({"security_groups": [web_id]}))  # type: ignore[arg-type]
    agent.reconcile()
    assert driver(agent).firewall.group_members[clients_id] == ()


def test_ports_that_go_are_removed_and_unbound_ones_go_down(db: Database, agent: NetworkAgent) -> None:
    network_id, _ = make_network(db)
    stays = make_port(db, network_id, **{"binding:host_id": HOST})
    goes = make_port(db, network_id, **{"binding:host_id": HOST})
    agent.reconcile()
    assert set(driver(agent).ports) == {stays.id, goes.id}
    with db.write() as s:
        ports.delete_port(s, s.get(Port, goes.id))  # type: ignore[arg-type]
        ports.update_port(s, ADMIN, s.get(Port, stays.id), PortUpdate.model_validate({"binding:host_id": ""}))  # type: ignore[arg-type]
    driver(agent).calls.clear()
    agent.reconcile()
    assert ("remove_port", goes.id) in driver(agent).calls and ("remove_port", stays.id) in driver(agent).calls
    assert status(db, stays.id) == "DOWN"
    with db.write() as s:
        ports.delete_port(s, s.get(Port, stays.id))  # type: ignore[arg-type]
        networks.delete_network(s, s.get(Network, network_id))  # type: ignore[arg-type]
    agent.reconcile()
    assert driver(agent).networks == {} and driver(agent).dhcp == {}


def test_routers_snat_and_floating_ips(db: Database, agent: NetworkAgent) -> None:
    public_id, public_subnet = make_network(
        db,
        "198.51.100.0/24",
        **{
            "router:external": True,
            "provider:network_type": "flat",
            "provider:physical_network": "public",
            "subnet": {"enable_dhcp": False},
        },
    )
    network_id, subnet_id = make_network(db)
    guest = make_port(db, network_id, **{"binding:host_id": HOST})
    with db.write() as s:
        router = routers.create_router(
            s, ADMIN, PROJECT, RouterCreate.model_validate({"name": "r", "external_gateway_info": {"network_id": public_id}})
        )
        routers.add_interface_by_subnet(s, ADMIN, router, subnet_id)
        router_id = router.id
        fip = floating_ips.create_floating_ip(
            s, ADMIN, PROJECT, FloatingIpCreate.model_validate({"floating_network_id": public_id, "port_id": guest.id})
        )
        fip_id, fip_address = fip.id, fip.floating_ip_address
    agent.reconcile()
    plane = driver(agent)
    spec = plane.routers[router_id]
    assert spec.namespace == router_namespace(router_id)
    assert spec.gateway is not None and spec.gateway.bridge == "br-ex"  # the mapped bridge, not ours
    assert plane.networks[public_id].managed is False
    assert spec.default_routes == ("198.51.100.1",)
    assert spec.snat_sources == ("10.0.0.0/24",)
    assert [(f.floating_ip, f.fixed_ip) for f in spec.floating_ips] == [(fip_address, guest.ip)]
    (interface,) = spec.interfaces
    assert interface.addresses == ("10.0.0.1/24",) and interface.bridge == bridge_name(network_id)
    with db.read() as s:
        assert s.get(FloatingIp, fip_id).status == "ACTIVE"  # type: ignore[union-attr]
        assert all(p.status == "ACTIVE" for p in s.scalars(select(Port).where(Port.device_id == router_id)))
    assert public_id not in plane.dhcp  # no DHCP on the external subnet
    # conntrack zones for our own bridges only: br-ex may carry the host's own traffic
    assert plane.firewall.zone_bridges == (bridge_name(network_id),)


def test_commits_that_change_networking_rows_wake_the_agent(db: Database) -> None:
    woken: list[int] = []
    stop = wake_on_commits(lambda: woken.append(1))
    try:
        make_network(db)
        assert woken
        woken.clear()
        with db.write() as s:
            s.info["pocketstack.network_agent"] = True  # the agent's own writes
            networks.create_network(s, PROJECT, NetworkCreate.model_validate({"name": "quiet"}))
        assert woken == []
    finally:
        stop()
    make_network(db, "10.5.0.0/24")
    assert woken == []
