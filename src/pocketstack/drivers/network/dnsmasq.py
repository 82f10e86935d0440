"""dnsmasq as a network's DHCP server (as Neutron's DHCP agent runs it): static leases
only, one host file per address in a --dhcp-hostsdir, options per subnet.

Reloading: Debian's dnsmasq 2.90 crashes on SIGHUP when a tagged hosts file holds a
leased host (shared notes §3.1), so this never signals a reload. A hosts directory is
read by inotify: a NEW file is picked up at once, but a changed or deleted one keeps its
old entries until a restart. So additions are written as new files and anything else
(an address moved, a port gone, options changed) restarts dnsmasq, after dropping the
leases no host entry backs any more (else a reused address would stay leased to its old
MAC). The config file and the hosts directory on disk are exactly what the running
dnsmasq knows; a marker file covers a restart the agent did not live to finish."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from .base import METADATA_ADDRESS, DataplaneError, DhcpSpec, DhcpSubnet

CONF = "dnsmasq.conf"
PID = "pid"
LEASES = "leases"
HOSTS_DIR = "hosts"
LOG = "log"
RESTART_MARKER = "restart-pending"
STOP_TIMEOUT = 5.0
DHCPV6_MODES = ("dhcpv6-stateful", "dhcpv6-stateless")


def subnet_tag(subnet: DhcpSubnet) -> str:
    return f"subnet-{subnet.id}"


def serves(subnet: DhcpSubnet) -> bool:
    """SLAAC subnets get their addresses from router advertisements, not DHCP."""
    return subnet.ip_version == 4 or subnet.ipv6_address_mode in DHCPV6_MODES


def render_config(spec: DhcpSpec, directory: Path) -> str:
    """The whole dnsmasq configuration (one option per line, as on the command line
    without the dashes). DNS is off (port=0): this server only hands out leases."""
    lines = [
        "no-hosts",
        "no-resolv",
        "port=0",
        "user=root",
        "group=root",
        f"interface={spec.ns_device}",
        "except-interface=lo",
        "bind-interfaces",
        f"pid-file={directory / PID}",
        f"dhcp-leasefile={directory / LEASES}",
        f"dhcp-hostsdir={directory / HOSTS_DIR}",
        f"log-facility={directory / LOG}",
        "dhcp-authoritative",
        f"dhcp-lease-max={_lease_max(spec)}",
        f"domain={spec.domain}",
    ]
    for subnet in spec.subnets:
        if serves(subnet):
            lines += _subnet_lines(spec, subnet)
    return "\n".join(lines) + "\n"


def _lease_max(spec: DhcpSpec) -> int:
    size = sum(min(ipaddress.ip_network(s.cidr).num_addresses, 1 << 16) for s in spec.subnets if serves(s))
    return max(size, 16)


def _subnet_lines(spec: DhcpSpec, subnet: DhcpSubnet) -> list[str]:
    network = ipaddress.ip_network(subnet.cidr)
    tag = subnet_tag(subnet)
    lease = f"{spec.lease_time}s"
    if subnet.ip_version == 6:
        lines = [f"dhcp-range=set:{tag},{network.network_address},static,{network.prefixlen},{lease}"]
        servers = [s for s in subnet.dns_nameservers if ":" in s]
        if servers:
            lines.append(f"dhcp-option=tag:{tag},option6:dns-server,{','.join(f'[{s}]' for s in servers)}")
        lines.append(f"dhcp-option=tag:{tag},option6:domain-search,{spec.domain}")
        return lines
    lines = [f"dhcp-range=set:{tag},{network.network_address},static,{network.netmask},{lease}"]
    lines.append(f"dhcp-option=tag:{tag},option:router" + (f",{subnet.gateway_ip}" if subnet.gateway_ip else ""))
    servers = [s for s in subnet.dns_nameservers if ":" not in s]
    if servers:
        lines.append(f"dhcp-option=tag:{tag},option:dns-server,{','.join(servers)}")
    lines.append(f"dhcp-option=tag:{tag},option:mtu,{spec.mtu}")
    routes = classless_routes(spec, subnet)
    if routes:
        flat = ",".join(f"{destination},{nexthop}" for destination, nexthop in routes)
        lines.append(f"dhcp-option=tag:{tag},option:classless-static-route,{flat}")
        lines.append(f"dhcp-option=tag:{tag},249,{flat}")  # the same for older Windows clients
    return lines


def classless_routes(spec: DhcpSpec, subnet: DhcpSubnet) -> list[tuple[str, str]]:
    """Option 121: the subnet's host routes, the network's other subnets on-link, the
    metadata address via this DHCP server and, last, the default route (a client that
    gets option 121 ignores option 3, so the gateway must be repeated here)."""
    routes = [(destination, nexthop) for destination, nexthop in subnet.host_routes if ":" not in destination]
    routes += [(other.cidr, "0.0.0.0") for other in spec.subnets if other.id != subnet.id and other.ip_version == 4]
    own = server_address(spec, subnet)
    if own and not any(destination == f"{METADATA_ADDRESS}/32" for destination, _ in routes):
        routes.append((f"{METADATA_ADDRESS}/32", own))
    if subnet.gateway_ip and not any(destination == "0.0.0.0/0" for destination, _ in routes):
        routes.append(("0.0.0.0/0", subnet.gateway_ip))
    return routes


def server_address(spec: DhcpSpec, subnet: DhcpSubnet) -> str | None:
    """The DHCP port's address in this subnet."""
    network = ipaddress.ip_network(subnet.cidr)
    for address in spec.addresses:
        interface = ipaddress.ip_interface(address)
        if interface.ip in network:
            return str(interface.ip)
    return None


def render_hosts(spec: DhcpSpec) -> dict[str, str]:
    """file name -> content: one file per static lease, named after MAC and address so a
    changed lease is a changed file (which needs a restart) and a new one a new file."""
    files = {}
    for host in spec.hosts:
        address = f"[{host.ip}]" if ":" in host.ip else host.ip
        name = f"{host.mac.replace(':', '')}-{host.ip.replace(':', '_')}"
        files[name] = f"{host.mac},{address},{host.hostname}\n"
    return files


def hostname_for(ip: str) -> str:
    """Neutron's name for a port without a DNS name: host-10-0-0-5."""
    return "host-" + ip.replace(".", "-").replace(":", "-")


def prune_leases(text: str, spec: DhcpSpec) -> str:
    """Keep the leases a host entry still backs (same MAC and address), and the DUID line."""
    wanted = {(h.mac.lower(), h.ip) for h in spec.hosts}
    wanted_ips = {h.ip for h in spec.hosts}
    kept = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "duid":
            kept.append(line)
        elif len(words) >= 3 and ":" in words[2]:  # IPv6: expiry iaid address name duid
            if words[2] in wanted_ips:
                kept.append(line)
        elif len(words) >= 3 and (words[1].lower(), words[2]) in wanted:
            kept.append(line)
    return "".join(line + "\n" for line in kept)


# -- the process ----------------------------------------------------------------------------
class Dnsmasq:
    """The dnsmasq of one network: files under `directory`, process in `namespace`."""

    def __init__(self, directory: Path, namespace: str) -> None:
        self.directory = directory
        self.namespace = namespace
        self.conf = directory / CONF
        self.hosts = directory / HOSTS_DIR

    def pid(self) -> int | None:
        """The running dnsmasq of this directory (checked against /proc, so a stale pid
        file or a reused pid never counts)."""
        try:
            pid = int((self.directory / PID).read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        expected = f"--conf-file={self.conf}".encode()
        if cmdline and cmdline[0].endswith(b"dnsmasq") and expected in cmdline:
            return pid
        return None

    def sync(self, spec: DhcpSpec) -> bool:
        """Make the running dnsmasq serve `spec`; True when it was (re)started."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.hosts.mkdir(exist_ok=True)
        config = render_config(spec, self.directory)
        wanted = render_hosts(spec)
        current = {path.name: path.read_text() for path in self.hosts.iterdir() if path.is_file()}
        pending = (self.directory / RESTART_MARKER).exists()
        same_config = self.conf.exists() and self.conf.read_text() == config
        only_additions = all(wanted.get(name) == content for name, content in current.items())
        running = self.pid() is not None
        if running and same_config and only_additions and not pending:
            for name in wanted.keys() - current.keys():
                _write_atomically(self.hosts / name, wanted[name], self.directory)
            return False
        self._restart(spec, config, wanted)
        return True

    def _restart(self, spec: DhcpSpec, config: str, hosts: Mapping[str, str]) -> None:
        marker = self.directory / RESTART_MARKER
        marker.touch()
        self.stop()
        _write_atomically(self.conf, config, self.directory)
        for path in self.hosts.iterdir():
            if path.name not in hosts:
                path.unlink()
        for name, content in hosts.items():
            _write_atomically(self.hosts / name, content, self.directory)
        leases = self.directory / LEASES
        if leases.exists():
            _write_atomically(leases, prune_leases(leases.read_text(), spec), self.directory)
        self.start()
        marker.unlink()

    def start(self) -> None:
        argv = ["ip", "netns", "exec", self.namespace, "dnsmasq", f"--conf-file={self.conf}"]
        # dnsmasq daemonizes: the command returns once it serves (or failed to start)
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, start_new_session=True)
        if result.returncode != 0:
            raise DataplaneError(f"dnsmasq for {self.namespace} did not start: {result.stderr.strip() or result.returncode}")
        deadline = time.monotonic() + 5
        while self.pid() is None:
            if time.monotonic() > deadline:
                raise DataplaneError(f"dnsmasq for {self.namespace} wrote no pid file")
            time.sleep(0.02)

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        (self.directory / PID).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _write_atomically(path: Path, content: str, scratch_dir: Path) -> None:
    """Write through a temporary file and a rename, so dnsmasq (inotify) never reads a
    half-written file."""
    tmp = scratch_dir / f".{path.name}.tmp"
    tmp.write_text(content)
    os.replace(tmp, path)
