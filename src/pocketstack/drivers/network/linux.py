"""The Linux dataplane: bridges, taps, veth pairs, namespaces and addresses through
netlink (pyroute2); dnsmasq for DHCP; iptables for security groups (host FORWARD chain,
physdev + conntrack, a conntrack zone per tenant bridge in raw PREROUTING) and router NAT
(inside each router's namespace).

What is ours: every device we create carries an alias "pocketstack:<scope>:<kind>:<id>"
(kind network, port, dhcp or router), every chain and ipset a "pocketstack-<scope>"
name, and every DHCP or router namespace a directory under the state directory (written
before the namespace is made, removed after it is gone). Orphans are found from those
marks alone, so this never removes anything another cloud (another scope) or the
machine's own configuration made. Nothing here touches the machine's uplink or gives
the root namespace an address or a route: bridges and taps carry no IP, and IPv6 is
switched off on every root-side device we plug.

br_netfilter must hand bridged frames to iptables (net.bridge.bridge-nf-call-iptables=1,
the kernel's default once the module is loaded); the driver checks it before it writes
the firewall and loads the module when it can."""

from __future__ import annotations

import ipaddress
import json
import logging
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .base import (
    METADATA_ADDRESS,
    METADATA_PORT,
    DataplaneError,
    DhcpSpec,
    FirewallSpec,
    NetworkSpec,
    PortFilter,
    PortSpec,
    RouterLeg,
    RouterSpec,
    dhcp_namespace,
    router_namespace,
)
from .dnsmasq import Dnsmasq
from .firewall import (
    CHAIN_PREFIX,
    assign_zones,
    desired_sets,
    ipset_restore_input,
    parse_ipset_save,
    parse_save,
    render_chains,
    render_zone_chains,
    restore_input,
    saved_zones,
    zone_hook,
)
from .metadata_proxy import MetadataProxy
from .nat import render_nat, saved_hash

log = logging.getLogger("pocketstack.dataplane")

IFF_UP = 0x1
RTPROT_STATIC = 4
MAIN_TABLE = 254
REQUIRED_TOOLS = ("ip", "dnsmasq", "iptables-restore", "iptables-save", "ip6tables-restore", "ip6tables-save")
BRIDGE_NF = Path("/proc/sys/net/bridge")


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str | None
    master: int | None
    mtu: int
    up: bool
    alias: str | None
    mac: str


def missing_tools() -> list[str]:
    return [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]


def run(argv: list[str], stdin: str | None = None, timeout: float = 60) -> str:
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise DataplaneError(f"{' '.join(argv[:5])}: {result.stderr.strip() or f'exit status {result.returncode}'}")
    return result.stdout


def in_namespace(namespace: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", namespace, *argv]


def tap_mac(port_mac: str) -> str:
    """The host side of a guest NIC: the guest's MAC with 0xfe first (as libvirt does), so
    the bridge never takes the guest's address for its own."""
    return "fe" + port_mac[2:]


class LinuxDataplane:
    name = "linux"

    def __init__(self, state_dir: Path, scope: str) -> None:
        missing = missing_tools()
        if missing:
            raise DataplaneError(f"the linux dataplane needs {', '.join(missing)} (see scripts/setup)")
        self.state_dir = state_dir
        self.scope = scope
        self.dhcp_dir = state_dir / "dhcp"
        self.router_dir = state_dir / "routers"
        self.use_ipset = shutil.which("ipset") is not None
        self._links: dict[str, Link] = {}
        self._namespaces: set[str] = set()
        self._applied: dict[str, tuple[object, tuple[int, ...]]] = {}  # see _unchanged
        self.metadata: MetadataProxy | None = None
        self._ipr: Any = None
        self._fingerprints: dict[str, object] | None = None  # port filters as last written
        self._filters: dict[str, PortFilter] = {}  # the same filters, for the flows of ports that go

    def enable_metadata(self, upstream: str, secret: str) -> None:
        """Serve 169.254.169.254 in DHCP and router namespaces, forwarding to `upstream`
        (the compute metadata service) with requests signed by `secret`."""
        if self.metadata is None:
            self.metadata = MetadataProxy(upstream, secret)

    # -- marks and the look at the host ----------------------------------------------------
    def alias(self, kind: str, owner: str) -> str:
        return f"pocketstack:{self.scope}:{kind}:{owner}"

    def owner_of(self, link: Link, kind: str) -> str | None:
        prefix = f"pocketstack:{self.scope}:{kind}:"
        return link.alias[len(prefix) :] if link.alias and link.alias.startswith(prefix) else None

    def _owned(self, kind: str) -> dict[str, list[Link]]:
        owned: dict[str, list[Link]] = {}
        for link in self._links.values():
            owner = self.owner_of(link, kind)
            if owner is not None:
                owned.setdefault(owner, []).append(link)
        return owned

    @property
    def ipr(self) -> Any:
        if self._ipr is None:
            from pyroute2 import IPRoute

            self._ipr = IPRoute()
        return self._ipr

    def prepare(self) -> None:
        self._refresh_links()
        from pyroute2 import netns

        self._namespaces = set(netns.listnetns())

    def _refresh_links(self) -> None:
        # iproute2's JSON: a dump of a few hundred links in milliseconds, where decoding
        # them with pyroute2 takes a good part of a second
        self._links = {link.name: link for link in _links_of_json(json.loads(run(["ip", "-j", "-d", "link", "show"]) or "[]"))}

    def close(self) -> None:
        if self.metadata is not None:
            self.metadata.close()
            self.metadata = None
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    # -- networks ------------------------------------------------------------------------
    def list_networks(self) -> set[str]:
        return set(self._owned("network"))

    def ensure_network(self, network: NetworkSpec) -> None:
        link = self._links.get(network.bridge)
        if not network.managed:
            if link is None or link.kind != "bridge":
                raise DataplaneError(f"bridge {network.bridge} (bridge_mappings) of network {network.id} does not exist")
            return
        if link is None:
            self.ipr.link("add", ifname=network.bridge, kind="bridge")
            _disable_ipv6(network.bridge)
            link = self._reload(network.bridge)
        elif link.kind != "bridge":
            raise DataplaneError(f"{network.bridge} exists and is no bridge")
        self._settle(link, alias=self.alias("network", network.id), mtu=network.mtu, up=True)

    def remove_network(self, network_id: str) -> None:
        for link in self._owned("network").get(network_id, []):
            self._delete_link(link.name)

    # -- guest ports -------------------------------------------------------------------------
    def list_ports(self) -> set[str]:
        return set(self._owned("port"))

    def ensure_port(self, port: PortSpec) -> None:
        bridge = self._bridge(port.bridge)
        link = self._links.get(port.device)
        if link is None:
            # persistent, root-owned, single queue: QEMU attaches to it by name
            self.ipr.link("add", ifname=port.device, kind="tuntap", mode="tap", ifr={"no_pi": True})
            _disable_ipv6(port.device)
            link = self._reload(port.device)
        elif link.kind != "tun":
            raise DataplaneError(f"{port.device} exists and is no tap")
        self._settle(
            link, alias=self.alias("port", port.id), mtu=port.mtu, up=port.admin_state_up, master=bridge.index, mac=tap_mac(port.mac)
        )

    def remove_port(self, port_id: str) -> None:
        for link in self._owned("port").get(port_id, []):
            self._delete_link(link.name)

    # -- DHCP ------------------------------------------------------------------------------
    def list_dhcp(self) -> set[str]:
        return _subdirectories(self.dhcp_dir)

    def ensure_dhcp(self, dhcp: DhcpSpec) -> None:
        directory = self.dhcp_dir / dhcp.network_id
        server = Dnsmasq(directory, dhcp.namespace)
        key = f"dhcp:{dhcp.network_id}"
        if self._unchanged(key, dhcp, dhcp.namespace, [dhcp.device]) and server.pid() is not None:
            return
        directory.mkdir(parents=True, exist_ok=True)  # the mark of ownership comes first
        self._ensure_namespace(dhcp.namespace)
        bridge = self._bridge(dhcp.bridge)
        owner = self.alias("dhcp", dhcp.network_id)
        for stale in self._owned("dhcp").get(dhcp.network_id, []):
            if stale.name != dhcp.device:
                self._delete_link(stale.name)
        addresses = dhcp.addresses + ((f"{METADATA_ADDRESS}/32",) if self.metadata else ())
        with self._netns(dhcp.namespace) as ns:
            self._ensure_leg(ns, dhcp.device, dhcp.ns_device, dhcp.namespace, owner, bridge, dhcp.mtu)
            _configure_interface(ns, dhcp.ns_device, dhcp.mac, dhcp.mtu, addresses)
        if server.sync(dhcp):
            log.info("dnsmasq for network %s (re)started", dhcp.network_id)
        if self.metadata:
            self.metadata.serve(dhcp.namespace, METADATA_ADDRESS, METADATA_PORT, dict(dhcp.instances))
        self._remember(key, dhcp, [dhcp.device])

    def remove_dhcp(self, network_id: str) -> None:
        directory = self.dhcp_dir / network_id
        namespace = dhcp_namespace(network_id)
        self._applied.pop(f"dhcp:{network_id}", None)
        if self.metadata:
            self.metadata.stop(namespace)
        Dnsmasq(directory, namespace).stop()
        self._remove_namespace(namespace)
        for link in self._owned("dhcp").get(network_id, []):
            self._delete_link(link.name)
        shutil.rmtree(directory, ignore_errors=True)

    # -- routers -----------------------------------------------------------------------------
    def list_routers(self) -> set[str]:
        return _subdirectories(self.router_dir)

    def ensure_router(self, router: RouterSpec) -> None:
        legs = [*router.interfaces, *([router.gateway] if router.gateway else [])]
        key = f"router:{router.id}"
        if self._unchanged(key, router, router.namespace, [leg.device for leg in legs]):
            return
        (self.router_dir / router.id).mkdir(parents=True, exist_ok=True)
        self._ensure_namespace(router.namespace)
        owner = self.alias("router", router.id)
        wanted = {leg.device for leg in legs}
        for stale in self._owned("router").get(router.id, []):
            if stale.name not in wanted:
                self._delete_link(stale.name)
        # NAT before addresses: a floating IP that appeared on the gateway leg before its
        # DNAT rule would answer from the router itself, and conntrack would keep every
        # flow that started in that window (a ping, say) answered there for good
        self._sync_nat(router)
        with self._netns(router.namespace) as ns:
            _remove_foreign_legs(ns, {leg.ns_device for leg in legs})
            for leg in legs:
                self._ensure_leg(ns, leg.device, leg.ns_device, router.namespace, owner, self._bridge(leg.bridge), leg.mtu)
                _configure_interface(ns, leg.ns_device, leg.mac, leg.mtu, _leg_addresses(leg, router))
            _sync_routes(ns, router)
        if self.metadata and router.metadata_port:
            self.metadata.serve(router.namespace, "0.0.0.0", router.metadata_port, dict(router.instances))
        self._remember(key, router, [leg.device for leg in legs])

    def _unchanged(self, key: str, spec: object, namespace: str, devices: list[str]) -> bool:
        """Whether this namespace was built from the same spec by this process and is
        still there as it was left: its namespace, and its legs' root halves with the same
        ifindex (a namespace removed behind our back takes those halves with it). Saves
        entering every namespace on every pass; a restarted agent checks everything once."""
        applied = self._applied.get(key)
        if applied is None or applied[0] != spec or namespace not in self._namespaces:
            return False
        if self.metadata is not None and namespace not in self.metadata.namespaces():
            return False
        indexes = applied[1]
        return all(
            self._links.get(name) is not None and self._links[name].index == index for name, index in zip(devices, indexes, strict=True)
        )

    def _remember(self, key: str, spec: object, devices: list[str]) -> None:
        self._applied[key] = (spec, tuple(self._links[name].index for name in devices))

    def _sync_nat(self, router: RouterSpec) -> None:
        wanted = render_nat(router)
        current = run(in_namespace(router.namespace, ["iptables-save", "-t", "nat"]))
        if saved_hash(current) == saved_hash(wanted):
            return
        # forwarding first: rules carrying our hash imply it is on
        script = "echo 1 > /proc/sys/net/ipv4/ip_forward && echo 1 > /proc/sys/net/ipv6/conf/all/forwarding"
        run(in_namespace(router.namespace, ["sh", "-c", script]))
        run(in_namespace(router.namespace, ["iptables-restore"]), stdin=wanted)
        # flows to a floating IP seen before its DNAT rule existed are tracked un-NATed and
        # would stay so (a ping answered by the router itself): forget them, as Neutron's L3
        # agent does, so their next packet is NATed afresh
        addresses = [fip.floating_ip for fip in router.floating_ips]
        if addresses:
            forget = "import ipaddress, sys; from pocketstack.drivers.network.linux import forget_connections; forget_connections({ipaddress.ip_address(a) for a in sys.argv[1:]})"
            run(in_namespace(router.namespace, [sys.executable, "-c", forget, *addresses]))

    def remove_router(self, router_id: str) -> None:
        self._applied.pop(f"router:{router_id}", None)
        if self.metadata:
            self.metadata.stop(router_namespace(router_id))
        self._remove_namespace(router_namespace(router_id))
        for link in self._owned("router").get(router_id, []):
            self._delete_link(link.name)
        shutil.rmtree(self.router_dir / router_id, ignore_errors=True)

    # -- security groups -----------------------------------------------------------------------
    def apply_firewall(self, firewall: FirewallSpec) -> None:
        if firewall.filters or firewall.open_devices:
            self._require_bridge_netfilter()
        sets = desired_sets(firewall, self.scope) if self.use_ipset else {}
        existing_sets: dict[str, set[str]] = {}
        if self.use_ipset:
            existing_sets = parse_ipset_save(run(["ipset", "save"]), f"{CHAIN_PREFIX}{self.scope}")
            text = ipset_restore_input(sets, existing_sets)
            if text:
                run(["ipset", "restore"], stdin=text)
        # zones before the filter: a flow seen before its bridge had a zone would be
        # tracked in zone 0, and its next packets (in the zone) would be strangers to it.
        # Zones that cannot be written still leave the filter to be written (a new port
        # unfiltered would be worse); the failure is raised once that is done.
        zones: dict[str, int] = {}
        gone: dict[str, int] = {}
        failure: Exception | None = None
        try:
            zones, gone = self._sync_zones(firewall)
        except Exception as exc:
            failure = exc
        for family, tool in ((4, "iptables"), (6, "ip6tables")):
            chains = render_chains(firewall, family, self.scope, self.use_ipset)
            saved = parse_save(run([f"{tool}-save", "-t", "filter"]), self.scope)
            text = restore_input(chains, saved, self.scope)
            if text:
                run([f"{tool}-restore", "--noflush"], stdin=text)
        for name in sorted(set(existing_sets) - set(sets)):
            run(["ipset", "destroy", name])
        if failure is not None:
            raise DataplaneError(f"conntrack zones: {failure}") from failure
        self._forget_flows(firewall, zones, gone)

    def _sync_zones(self, firewall: FirewallSpec) -> tuple[dict[str, int], dict[str, int]]:
        """The raw table's zone rules, IPv4 and IPv6 alike (see firewall.py); the zone of
        every bridge now, and of every bridge that lost its zone."""
        hook = zone_hook(self.scope)
        saved = {tool: run([f"{tool}-save", "-t", "raw"]) for tool in ("iptables", "ip6tables")}
        kept6, taken6 = saved_zones(saved["ip6tables"], self.scope)
        kept4, taken4 = saved_zones(saved["iptables"], self.scope)
        kept = {**kept6, **kept4}  # IPv4's word first, should the two ever disagree
        zones = assign_zones(firewall.zone_bridges, kept, taken4 | taken6)
        chains = render_zone_chains(zones, self.scope)
        for tool, text in saved.items():
            wanted = restore_input(chains, parse_save(text, self.scope, hook), self.scope, hook)
            if wanted:
                run([f"{tool}-restore", "--noflush"], stdin=wanted)
        gone = {bridge: zone for bridge, zone in kept.items() if zones.get(bridge) != zone}
        return zones, gone

    def _forget_flows(self, firewall: FirewallSpec, zones: dict[str, int], gone: dict[str, int]) -> None:
        """Connections conntrack already let through keep flowing after a rule that
        allowed them goes, so the connections of every port whose filter changed or that
        went are forgotten (as Neutron does): the next packet of each is judged by the
        rules again, and one still allowed simply carries on (conntrack picks TCP up
        mid-stream). Only the port's own zone is searched: an equal address in another
        network is another guest. A zone whose bridge went is emptied whole, so whoever
        gets the number next starts with no flows in it."""
        prints = {f.port_id: port_fingerprint(f, firewall) for f in firewall.filters}
        previous, self._fingerprints = self._fingerprints, prints
        before, self._filters = self._filters, {f.port_id: f for f in firewall.filters}
        doomed: dict[int, set[Any]] = {}
        if previous is not None:  # else a new agent: nothing was let through by rules it changed
            changed = [f for f in firewall.filters if f.port_id in previous and previous[f.port_id] != prints[f.port_id]]
            went = [f for port_id, f in before.items() if port_id not in prints]
            for port in (*changed, *went):
                zone = zones.get(port.bridge, gone.get(port.bridge, 0))
                doomed.setdefault(zone, set()).update(ipaddress.ip_address(ip) for ip in port.ips)
        emptied = set(gone.values())
        work = [(None, zone) for zone in sorted(emptied)]
        work += [(addresses, zone) for zone, addresses in sorted(doomed.items()) if zone not in emptied]
        for addresses, zone in work:
            try:
                forget_connections(addresses, zone)
            except Exception as exc:  # the rules are in place; only old flows linger
                log.warning("forgetting connections in conntrack zone %s: %s", zone, exc)

    def _require_bridge_netfilter(self) -> None:
        if not BRIDGE_NF.exists():
            subprocess.run(["modprobe", "br_netfilter"], capture_output=True)
        for name in ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables"):
            path = BRIDGE_NF / name
            try:
                if path.read_text().strip() != "1":
                    path.write_text("1\n")
            except OSError as exc:
                raise DataplaneError(f"bridged traffic cannot be filtered: {path}: {exc} (is br_netfilter available?)") from exc

    # -- everything of this scope, for tests and uninstalling ------------------------------------
    def remove_everything(self) -> None:
        """Everything of this scope goes, each piece tried even if one before it failed
        (the first failure is raised at the end)."""
        self.prepare()
        steps: list[Any] = [lambda r=r: self.remove_router(r) for r in self.list_routers()]
        steps += [lambda n=n: self.remove_dhcp(n) for n in self.list_dhcp()]
        steps += [lambda p=p: self.remove_port(p) for p in self.list_ports()]
        steps += [lambda n=n: self.remove_network(n) for n in self.list_networks()]
        steps.append(lambda: self.apply_firewall(FirewallSpec()))
        failures = []
        for step in steps:
            try:
                step()
            except Exception as exc:
                failures.append(exc)
        self.close()
        if failures:
            raise failures[0]

    # -- helpers ------------------------------------------------------------------------------
    def _bridge(self, name: str) -> Link:
        link = self._links.get(name)
        if link is None or link.kind != "bridge":
            raise DataplaneError(f"bridge {name} does not exist (yet)")
        return link

    def _reload(self, name: str) -> Link:
        (message,) = self.ipr.link("get", ifname=name)  # one link, not a dump of all
        link = _link_of(message)
        self._links[name] = link
        return link

    def _settle(self, link: Link, *, alias: str, mtu: int, up: bool, master: int | None = None, mac: str | None = None) -> None:
        """Change only what differs (netlink set calls are cheap, but a pass over a
        hundred unchanged ports should not make a hundred of them)."""
        changes: dict[str, Any] = {}
        if link.alias != alias:
            changes["ifalias"] = alias
        if link.mtu != mtu:
            changes["mtu"] = mtu
        if mac is not None and link.mac != mac:
            changes["address"] = mac
        if master is not None and link.master != master:
            changes["master"] = master
        if link.up != up:
            changes["state"] = "up" if up else "down"
        if changes:
            self.ipr.link("set", index=link.index, **changes)
            self._links[link.name] = replace(
                link, alias=alias, mtu=mtu, up=up, master=link.master if master is None else master, mac=mac or link.mac
            )

    def _delete_link(self, name: str) -> None:
        try:
            self.ipr.link("del", ifname=name)
        except Exception as exc:  # gone already (a veth whose peer went with its namespace)
            if _errno(exc) not in (19,):  # ENODEV
                raise
        self._links.pop(name, None)

    def _ensure_namespace(self, namespace: str) -> None:
        if namespace in self._namespaces:
            return
        from pyroute2 import netns

        netns.create(namespace)
        self._namespaces.add(namespace)
        with self._netns(namespace) as ns:
            ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")

    def _remove_namespace(self, namespace: str) -> None:
        from pyroute2 import netns

        if namespace in self._namespaces or namespace in netns.listnetns():
            netns.remove(namespace)
        self._namespaces.discard(namespace)

    @contextmanager
    def _netns(self, namespace: str) -> Iterator[Any]:
        from pyroute2 import IPRoute

        ns = IPRoute(netns=namespace)
        try:
            yield ns
        finally:
            ns.close()

    def _ensure_leg(self, ns: Any, device: str, ns_device: str, namespace: str, owner: str, bridge: Link, mtu: int) -> None:
        """A veth pair: `device` on the bridge in the root namespace, `ns_device` in the
        namespace (`ns`, open). A half (its peer gone) is made whole again."""
        link = self._links.get(device)
        if link is not None and (link.kind != "veth" or not ns.link_lookup(ifname=ns_device)):
            self._delete_link(device)
            link = None
        if link is None:
            for orphan in ns.link_lookup(ifname=ns_device):  # the other half of a broken pair
                ns.link("del", index=orphan)
            self.ipr.link("add", ifname=device, kind="veth", peer={"ifname": ns_device, "net_ns_fd": namespace})
            _disable_ipv6(device)
            link = self._reload(device)
        self._settle(link, alias=owner, mtu=mtu, up=True, master=bridge.index)


# -- netlink details ---------------------------------------------------------------------------
def port_fingerprint(port: PortFilter, firewall: FirewallSpec) -> object:
    """What decides a port's filtering: its filter and its remote groups' members."""
    groups = sorted({rule.remote_group_id for rule in port.rules if rule.remote_group_id})
    return (port, tuple((group, firewall.group_members.get(group, ())) for group in groups))


def forget_connections(addresses: set[Any] | None, zone: int | None = None) -> int:
    """Delete the current namespace's conntrack entries (IPv4 and IPv6) from or to these
    addresses, or all of them for None, in conntrack zone `zone` only when one is given
    (0: the default zone); the number deleted. The root namespace for ports; a router
    namespace when run inside it."""
    from pyroute2 import Conntrack

    deleted = 0
    for family in (socket.AF_INET, socket.AF_INET6):
        with Conntrack(nfgen_family=family) as conntrack:
            doomed = [entry for entry in conntrack.dump_entries() if _entry_matches(entry, addresses, zone)]
            for entry in doomed:
                try:
                    # the zone is part of the key: without it the kernel looks in zone 0
                    conntrack.entry("del", tuple_orig=entry.tuple_orig, zone=entry.zone)
                    deleted += 1
                except Exception as exc:  # gone meanwhile (expired or closed)
                    log.debug("conntrack entry already gone: %s", exc)
    return deleted


def _entry_matches(entry: Any, addresses: set[Any] | None, zone: int | None) -> bool:
    if zone is not None and (entry.zone or 0) != zone:  # the kernel leaves zone 0 out of a dump
        return False
    if addresses is None:
        return True
    ends = {getattr(entry.tuple_orig, "saddr", None), getattr(entry.tuple_orig, "daddr", None)}
    return any(end is not None and ipaddress.ip_address(end) in addresses for end in ends)


def _link_of(message: Any) -> Link:
    return Link(
        index=message["index"],
        name=message.get("ifname"),
        kind=message.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
        master=message.get("master"),
        mtu=message.get("mtu"),
        up=bool(message["flags"] & IFF_UP),
        alias=message.get("ifalias"),
        mac=message.get("address"),
    )


def _links_of_json(entries: list[dict[str, Any]]) -> list[Link]:
    indexes = {entry["ifname"]: entry["ifindex"] for entry in entries}
    return [
        Link(
            index=entry["ifindex"],
            name=entry["ifname"],
            kind=(entry.get("linkinfo") or {}).get("info_kind"),
            master=indexes.get(entry.get("master", "")),
            mtu=entry.get("mtu", 0),
            up="UP" in entry.get("flags", []),
            alias=entry.get("ifalias"),
            mac=entry.get("address", ""),
        )
        for entry in entries
    ]


def _errno(exc: Exception) -> int | None:
    return getattr(exc, "code", None)


def _disable_ipv6(device: str) -> None:
    """Root-side devices of tenant networks must not speak IPv6 themselves (no link-local
    address, no router solicitations from the host into a tenant network)."""
    try:
        Path(f"/proc/sys/net/ipv6/conf/{device}/disable_ipv6").write_text("1\n")
    except OSError:
        pass


def _subdirectories(path: Path) -> set[str]:
    try:
        return {entry.name for entry in path.iterdir() if entry.is_dir()}
    except FileNotFoundError:
        return set()


def _leg_addresses(leg: RouterLeg, router: RouterSpec) -> tuple[str, ...]:
    """A gateway leg also holds the floating IPs (/32), so it answers ARP for them."""
    if leg is not router.gateway:
        return leg.addresses
    return (*leg.addresses, *(f"{fip.floating_ip}/32" for fip in router.floating_ips))


def _configure_interface(ns: Any, name: str, mac: str, mtu: int, addresses: tuple[str, ...]) -> None:
    (index,) = ns.link_lookup(ifname=name)
    (message,) = ns.get_links(index)
    link = _link_of(message)
    changes: dict[str, Any] = {}
    if link.mac != mac:
        changes["address"] = mac
    if link.mtu != mtu:
        changes["mtu"] = mtu
    if not link.up:
        changes["state"] = "up"
    if changes:
        ns.link("set", index=index, **changes)
    _sync_addresses(ns, index, addresses)


def _sync_addresses(ns: Any, index: int, wanted: tuple[str, ...]) -> None:
    current = set()
    for message in ns.get_addr(index=index):
        address = ipaddress.ip_interface(f"{message.get('IFA_ADDRESS')}/{message['prefixlen']}")
        if not (address.version == 6 and address.ip.is_link_local):
            current.add(address)
    desired = {ipaddress.ip_interface(address) for address in wanted}
    for address in current - desired:
        ns.addr("del", index=index, address=str(address.ip), prefixlen=address.network.prefixlen)
    for address in desired - current:
        ns.addr("add", index=index, address=str(address.ip), prefixlen=address.network.prefixlen)


def _remove_foreign_legs(ns: Any, wanted: set[str]) -> None:
    """Router legs of ports no longer on the router (the root half may be gone already)."""
    for message in ns.get_links():
        link = _link_of(message)
        if link.kind == "veth" and link.name not in wanted:
            ns.link("del", index=link.index)


def _sync_routes(ns: Any, router: RouterSpec) -> None:
    """The default route via the external gateway and the static routes; routes we made
    (protocol "static") that nobody wants any more go."""
    wanted: set[tuple[str, str]] = set()
    for nexthop in router.default_routes:
        version = ipaddress.ip_address(nexthop).version
        default = "0.0.0.0/0" if version == 4 else "::/0"
        if not any(d == default for d, _ in wanted):
            wanted.add((default, nexthop))
    wanted |= {(str(ipaddress.ip_network(d, strict=False)), n) for d, n in router.routes}
    current = set()
    for family in (socket.AF_INET, socket.AF_INET6):
        for message in ns.get_routes(family=family, table=MAIN_TABLE):
            if message.get("proto") != RTPROT_STATIC or message.get("RTA_GATEWAY") is None:
                continue
            zero = "0.0.0.0" if family == socket.AF_INET else "::"
            destination = f"{message.get('RTA_DST') or zero}/{message['dst_len']}"
            current.add((destination, message.get("RTA_GATEWAY")))
    for destination, nexthop in current - wanted:
        ns.route("del", dst=destination, gateway=nexthop, proto=RTPROT_STATIC)
    for destination, nexthop in sorted(wanted - current):
        try:
            ns.route("replace", dst=destination, gateway=nexthop, proto=RTPROT_STATIC)
        except Exception as exc:  # a next hop on no connected subnet: the rest still goes in
            log.warning("router route %s via %s: %s", destination, nexthop, exc)
