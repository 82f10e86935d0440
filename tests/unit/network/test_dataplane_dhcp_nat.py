"""The pure parts of the dataplane: device names, dnsmasq's configuration and host
files (and when a change needs a restart), and a router's NAT table."""

from __future__ import annotations

from pathlib import Path

import pytest

from pocketstack.drivers.network import dnsmasq, metadata_proxy, nat
from pocketstack.drivers.network.base import (
    DhcpHost,
    DhcpSpec,
    DhcpSubnet,
    FloatingIpSpec,
    RouterLeg,
    RouterSpec,
    bridge_name,
    default_scope,
    dhcp_device_name,
    router_gateway_name,
    router_interface_name,
    tap_name,
)
from pocketstack.drivers.network.linux import tap_mac

NET = "6f3c1a2b-1111-2222-3333-444455556666"
SUBNET = DhcpSubnet("sub-a", "10.0.0.0/24", 4, "10.0.0.1", ("192.0.2.53",), (("172.16.0.0/16", "10.0.0.254"),))


def dhcp_spec(*hosts: DhcpHost, subnets: tuple[DhcpSubnet, ...] = (SUBNET,)) -> DhcpSpec:
    return DhcpSpec(
        network_id=NET,
        namespace=f"qdhcp-{NET}",
        bridge=bridge_name(NET),
        mtu=1450,
        port_id="d1",
        device="tapd1",
        ns_device="ns-d1",
        mac="fa:16:3e:00:00:02",
        addresses=("10.0.0.2/24", "2001:db8::2/64"),
        subnets=subnets,
        hosts=hosts,
    )


def test_names_are_neutrons_and_fit_linux() -> None:
    port = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
    assert bridge_name(NET) == "brq6f3c1a2b-11"
    assert tap_name(port) == "tap0f1e2d3c-4b"
    assert dhcp_device_name(port) == "ns-0f1e2d3c-4b"
    assert router_interface_name(port) == "qr-0f1e2d3c-4b"
    assert router_gateway_name(port) == "qg-0f1e2d3c-4b"
    assert all(len(name) <= 15 for name in (bridge_name(NET), tap_name(port), dhcp_device_name(port)))
    assert tap_mac("fa:16:3e:aa:bb:cc") == "fe:16:3e:aa:bb:cc"
    scope = default_scope("sqlite:////var/lib/pocketstack/pocketstack.db")
    assert len(scope) == 6 and scope == default_scope("sqlite:////var/lib/pocketstack/pocketstack.db")
    assert scope != default_scope("sqlite:////tmp/other.db")


def test_config_serves_static_leases_with_the_subnet_options(tmp_path: Path) -> None:
    lines = dnsmasq.render_config(dhcp_spec(), tmp_path).splitlines()
    assert "port=0" in lines and "interface=ns-d1" in lines and "bind-interfaces" in lines
    assert f"dhcp-hostsdir={tmp_path / 'hosts'}" in lines
    assert f"pid-file={tmp_path / 'pid'}" in lines
    assert "dhcp-range=set:subnet-sub-a,10.0.0.0,static,255.255.255.0,86400s" in lines
    assert "dhcp-option=tag:subnet-sub-a,option:router,10.0.0.1" in lines
    assert "dhcp-option=tag:subnet-sub-a,option:dns-server,192.0.2.53" in lines
    assert "dhcp-option=tag:subnet-sub-a,option:mtu,1450" in lines
    routes = "172.16.0.0/16,10.0.0.254,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1"
    assert f"dhcp-option=tag:subnet-sub-a,option:classless-static-route,{routes}" in lines
    assert f"dhcp-option=tag:subnet-sub-a,249,{routes}" in lines
    assert not any(line.startswith("dhcp-host=") for line in lines)  # hosts live in the directory


def test_a_subnet_without_gateway_gets_no_router_and_no_default_route(tmp_path: Path) -> None:
    isolated = DhcpSubnet("sub-b", "10.0.0.0/24", 4, None)
    lines = dnsmasq.render_config(dhcp_spec(subnets=(isolated,)), tmp_path).splitlines()
    assert "dhcp-option=tag:subnet-sub-b,option:router" in lines
    assert "dhcp-option=tag:subnet-sub-b,option:classless-static-route,169.254.169.254/32,10.0.0.2" in lines


def test_other_subnets_are_on_link_and_ipv6_gets_its_own_range(tmp_path: Path) -> None:
    second = DhcpSubnet("sub-c", "10.1.0.0/24", 4, "10.1.0.1")
    v6 = DhcpSubnet("sub-6", "2001:db8::/64", 6, "2001:db8::1", ("2001:db8::53",), ipv6_address_mode="dhcpv6-stateful")
    slaac = DhcpSubnet("sub-s", "2001:db9::/64", 6, "2001:db9::1", ipv6_address_mode="slaac")
    lines = dnsmasq.render_config(dhcp_spec(subnets=(SUBNET, second, v6, slaac)), tmp_path).splitlines()
    assert any(
        line.startswith("dhcp-option=tag:subnet-sub-a,option:classless-static-route,") and "10.1.0.0/24,0.0.0.0" in line for line in lines
    )
    assert "dhcp-range=set:subnet-sub-6,2001:db8::,static,64,86400s" in lines
    assert "dhcp-option=tag:subnet-sub-6,option6:dns-server,[2001:db8::53]" in lines
    assert not any("sub-s" in line for line in lines)


def test_host_files_name_mac_and_address() -> None:
    files = dnsmasq.render_hosts(
        dhcp_spec(
            DhcpHost("fa:16:3e:00:00:10", "10.0.0.10", "host-10-0-0-10"), DhcpHost("fa:16:3e:00:00:10", "2001:db8::10", "host-2001-db8--10")
        )
    )
    assert files == {
        "fa163e000010-10.0.0.10": "fa:16:3e:00:00:10,10.0.0.10,host-10-0-0-10\n",
        "fa163e000010-2001_db8__10": "fa:16:3e:00:00:10,[2001:db8::10],host-2001-db8--10\n",
    }
    assert dnsmasq.hostname_for("10.0.0.10") == "host-10-0-0-10"


def test_leases_no_host_backs_are_dropped() -> None:
    spec = dhcp_spec(DhcpHost("fa:16:3e:00:00:10", "10.0.0.10", "h"))
    leases = "1700000000 fa:16:3e:00:00:10 10.0.0.10 h *\n1700000000 fa:16:3e:00:00:11 10.0.0.10 old *\n1700000000 fa:16:3e:00:00:12 10.0.0.12 gone *\nduid 00:01\n"
    assert dnsmasq.prune_leases(leases, spec) == "1700000000 fa:16:3e:00:00:10 10.0.0.10 h *\nduid 00:01\n"


class FakeDnsmasq(dnsmasq.Dnsmasq):
    """Dnsmasq without the process: counts the restarts."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, "qdhcp-x")
        self.running = False
        self.starts = 0

    def pid(self) -> int | None:
        return 4242 if self.running else None

    def start(self) -> None:
        self.running = True
        self.starts += 1

    def stop(self) -> None:
        self.running = False


def test_new_hosts_are_added_without_a_restart_but_changes_restart(tmp_path: Path) -> None:
    server = FakeDnsmasq(tmp_path)
    one = DhcpHost("fa:16:3e:00:00:10", "10.0.0.10", "a")
    two = DhcpHost("fa:16:3e:00:00:11", "10.0.0.11", "b")
    assert server.sync(dhcp_spec(one)) is True
    assert server.sync(dhcp_spec(one)) is False
    assert server.sync(dhcp_spec(one, two)) is False  # a new file: dnsmasq reads it by itself
    assert sorted(p.name for p in (tmp_path / "hosts").iterdir()) == ["fa163e000010-10.0.0.10", "fa163e000011-10.0.0.11"]
    assert server.sync(dhcp_spec(two)) is True  # one gone: only a restart forgets it
    assert [p.name for p in (tmp_path / "hosts").iterdir()] == ["fa163e000011-10.0.0.11"]
    moved = DhcpHost("fa:16:3e:00:00:12", "10.0.0.11", "c")
    assert server.sync(dhcp_spec(moved)) is True  # the address changed hands
    assert server.sync(dhcp_spec(moved, subnets=(DhcpSubnet("sub-a", "10.0.0.0/24", 4, "10.0.0.254"),))) is True  # options changed
    server.running = False
    assert server.sync(dhcp_spec(moved, subnets=(DhcpSubnet("sub-a", "10.0.0.0/24", 4, "10.0.0.254"),))) is True  # it died
    assert server.starts == 5
    assert not (tmp_path / dnsmasq.RESTART_MARKER).exists()


def test_an_unfinished_restart_is_finished(tmp_path: Path) -> None:
    server = FakeDnsmasq(tmp_path)
    host = DhcpHost("fa:16:3e:00:00:10", "10.0.0.10", "a")
    server.sync(dhcp_spec(host))
    (tmp_path / dnsmasq.RESTART_MARKER).touch()  # the agent died between its changes and the restart
    assert server.sync(dhcp_spec(host)) is True


def router(**fields: object) -> RouterSpec:
    gateway = RouterLeg("g", "tapg", "qg-g", "fa:16:3e:00:01:01", ("198.51.100.10/24",), "br-ex", 1500)
    inside = RouterLeg("i", "tapi", "qr-i", "fa:16:3e:00:01:02", ("10.0.0.1/24",), "brq1", 1450)
    values: dict[str, object] = {
        "id": "r",
        "namespace": "qrouter-r",
        "interfaces": (inside,),
        "gateway": gateway,
        "default_routes": ("198.51.100.1",),
        "snat_sources": ("10.0.0.0/24",),
    }
    values.update(fields)
    return RouterSpec(**values)  # type: ignore[arg-type]


def test_nat_snats_the_inside_and_translates_floating_ips() -> None:
    rules = nat.nat_rules(router(floating_ips=(FloatingIpSpec("198.51.100.50", "10.0.0.5"),)))
    assert rules["pocketstack-PREROUTING"] == ["-d 198.51.100.50/32 -j DNAT --to-destination 10.0.0.5"]
    assert rules["pocketstack-OUTPUT"] == ["-d 198.51.100.50/32 -j DNAT --to-destination 10.0.0.5"]
    assert rules["pocketstack-POSTROUTING"] == [
        "-s 10.0.0.5/32 -o qg-g -j SNAT --to-source 198.51.100.50",  # before the router's own SNAT
        "-s 10.0.0.0/24 -o qg-g -j SNAT --to-source 198.51.100.10",
    ]


def test_nat_without_snat_or_gateway() -> None:
    assert nat.nat_rules(router(enable_snat=False))["pocketstack-POSTROUTING"] == []
    assert all(not rules for rules in nat.nat_rules(router(gateway=None)).values())


def test_nat_table_is_whole_and_hashed() -> None:
    text = nat.render_nat(router())
    lines = text.splitlines()
    assert lines[0] == "*nat" and lines[-1] == "COMMIT"
    assert "-A POSTROUTING -j pocketstack-POSTROUTING" in lines
    digest = nat.saved_hash(text)
    assert digest is not None and digest == nat.saved_hash(nat.render_nat(router()))
    assert digest != nat.saved_hash(nat.render_nat(router(enable_snat=False)))
    assert nat.saved_hash("*nat\nCOMMIT\n") is None


@pytest.mark.parametrize("text", ["", "# nothing\n"])
def test_nat_hash_of_an_empty_table(text: str) -> None:
    assert nat.saved_hash(text) is None


def test_routers_redirect_metadata_to_their_proxy() -> None:
    rules = nat.nat_rules(router(metadata_port=9697))
    assert rules["pocketstack-PREROUTING"][0] == "-i qr-+ -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697"


def test_the_proxy_signs_as_the_metadata_service_checks() -> None:
    from pocketstack.services.compute.metadata import signature_ok

    assert signature_ok("s3cret", "a-server-id", metadata_proxy.sign("s3cret", "a-server-id"))
    assert not signature_ok("other", "a-server-id", metadata_proxy.sign("s3cret", "a-server-id"))
