#!/usr/bin/env python3
"""Networking benchmark: port creation under 50 parallel clients (and that no address is
handed out twice), and the network agent rebuilding the dataplane of 100 ports after a
restart that lost it (as a reboot does), in one run.

    .venv/bin/python benchmarks/network.py [--ports 500] [--clients 50] [--rebuild-ports 100] [--write docs/benchmarks.md]

Port creation (an all-in-one with the network service, noop dataplane: the API and IPAM):
- --ports ports on one /16 subnet from --clients parallel clients: ports per second, p50/p99
  latency, and the count of duplicate addresses and MACs (must be 0);
- anchor: GET /networking/v2.0/networks/{id} from the same clients (an authenticated read).

Rebuild (root only; the linux dataplane): --rebuild-ports ports bound to this host on 5
networks with DHCP; `pocketstack network-agent` builds them (first build); then the agent is
killed (SIGKILL), everything it built is removed, and a new agent starts: seconds until every
tap is back on its bridge and every dnsmasq answers (rebuild). Everything is removed at the end.

Floating IP (root only; QEMU guest, the test image, on the linux dataplane): the outside
world of the end-to-end tests (pocketstack.testing.outside: a bridge mapped as an external
network, a namespace on it), a project network and router with the gateway, a security
group allowing ICMP, one m1.nano server ACTIVE with its DHCP lease on its console; then for
--fip-rounds rounds: seconds from the PUT that associates the floating IP (port_id) to the
first echo answered from the outside namespace (an echo every 50 ms), then disassociate.
- anchor: the round trip of an echo to the server's fixed IP from qrouter-<router id>
  (the already-plugged path, the same pinger), the floor under any association figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from common import admin_token, write_section

from pocketstack.config import default_guest_image_cache, load_settings
from pocketstack.drivers.network import load_driver
from pocketstack.drivers.network.base import router_namespace
from pocketstack.guest import build_test_image
from pocketstack.guest.scripts import MARKER
from pocketstack.testing.outside import Outside, in_ns, qemu_cloud_env, tear_down
from pocketstack.testing.processes import processes_mentioning
from pocketstack.testing.server import LiveCloud

SECTION = "## Networking (issue #5)"
GUEST_TTL_BEHIND_ROUTER = 63  # Linux guests send with TTL 64; the router takes one
SERVICES = json.dumps(["identity", "image", "network"])
NEUTRON = "/networking/v2.0"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def parallel(http: httpx.Client, clients: int, calls: list[tuple[str, str, Any]]) -> tuple[list[httpx.Response], dict[str, float]]:
    def one(call: tuple[str, str, Any]) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        reply = http.request(call[0], call[1], json=call[2])
        return reply, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(one, calls))
    elapsed = time.perf_counter() - started
    seconds = [s for _, s in results]
    return [r for r, _ in results], {"per_s": len(calls) / elapsed, "p50": percentile(seconds, 0.5), "p99": percentile(seconds, 0.99)}


def port_creation(count: int, clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-net-") as tmp:
        env = {"POCKETSTACK_SERVICES": SERVICES, "POCKETSTACK_NETWORK__DATAPLANE": "noop"}
        with LiveCloud(Path(tmp), extra_env=env) as cloud:
            http = httpx.Client(base_url=cloud.url + NEUTRON, headers={"X-Auth-Token": admin_token(cloud)}, timeout=120, limits=httpx.Limits(max_connections=clients))
            project_id = _project(cloud, http)
            http.put(f"/quotas/{project_id}", json={"quota": {"port": -1}}).raise_for_status()
            net = http.post("/networks", json={"network": {"name": "bench"}}).json()["network"]
            http.post("/subnets", json={"subnet": {"network_id": net["id"], "cidr": "10.64.0.0/16", "ip_version": 4}}).raise_for_status()
            _, anchor = parallel(http, clients, [("GET", f"/networks/{net['id']}", None)] * count)
            replies, created = parallel(http, clients, [("POST", "/ports", {"port": {"network_id": net["id"]}})] * count)
            failed = [r.status_code for r in replies if r.status_code != 201]
            ports = [r.json()["port"] for r in replies if r.status_code == 201]
            addresses = Counter(ip["ip_address"] for p in ports for ip in p["fixed_ips"])
            macs = Counter(p["mac_address"] for p in ports)
            return {
                "count": count,
                "clients": clients,
                "anchor": anchor,
                "create": created,
                "failed": len(failed),
                "duplicate_ips": sum(n - 1 for n in addresses.values() if n > 1),
                "duplicate_macs": sum(n - 1 for n in macs.values() if n > 1),
            }


def _project(cloud: LiveCloud, http: httpx.Client) -> str:
    token = http.headers["X-Auth-Token"]
    reply = httpx.get(cloud.url + "/identity/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token})
    return reply.json()["token"]["project"]["id"]


# -- the dataplane rebuild ------------------------------------------------------------------
def links() -> set[str]:
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True, check=True).stdout
    return {entry["ifname"] for entry in json.loads(out)}


def dnsmasq_count(data_dir: Path) -> int:
    return len(processes_mentioning(str(data_dir), b"dnsmasq"))


def wait_built(taps: set[str], data_dir: Path, networks: int, started: float, timeout: float = 300) -> float:
    while time.perf_counter() - started < timeout:
        if taps <= links() and dnsmasq_count(data_dir) >= networks:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError("the dataplane was not built in time")


def rebuild(ports: int, networks: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as tmp:
        data_dir = Path(tmp)
        env = {"POCKETSTACK_SERVICES": SERVICES, "POCKETSTACK_NETWORK__DATAPLANE": "linux", "POCKETSTACK_NETWORK__RUN_AGENT": "false"}
        agent: subprocess.Popen[bytes] | None = None
        with LiveCloud(data_dir, extra_env=env) as cloud:
            settings = load_settings(data_dir=data_dir)
            dataplane = load_driver(settings.model_copy(update={"network": settings.network.model_copy(update={"dataplane": "linux"})}))
            try:
                http = httpx.Client(base_url=cloud.url + NEUTRON, headers={"X-Auth-Token": admin_token(cloud)}, timeout=120)
                http.put(f"/quotas/{_project(cloud, http)}", json={"quota": {"port": -1, "network": -1, "subnet": -1}}).raise_for_status()
                host = os.uname().nodename
                taps = set()
                for index in range(networks):
                    net = http.post("/networks", json={"network": {"name": f"r{index}"}}).json()["network"]
                    http.post("/subnets", json={"subnet": {"network_id": net["id"], "cidr": f"10.{80 + index}.0.0/24", "ip_version": 4}}).raise_for_status()
                    for _ in range(ports // networks):
                        port = http.post("/ports", json={"port": {"network_id": net["id"], "binding:host_id": host}}).json()["port"]
                        taps.add("tap" + port["id"][:11])
                agent_env = {**os.environ, **cloud.extra_env}
                cmd = [sys.executable, "-m", "pocketstack", "network-agent", "--data-dir", str(data_dir)]
                started = time.perf_counter()
                agent = subprocess.Popen(cmd, env=agent_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                first = wait_built(taps, data_dir, networks, started)
                agent.send_signal(signal.SIGKILL)
                agent.wait()
                dataplane.remove_everything()  # what a reboot loses
                started = time.perf_counter()
                agent = subprocess.Popen(cmd, env=agent_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                again = wait_built(taps, data_dir, networks, started)
                return {"ports": len(taps), "networks": networks, "first": first, "rebuild": again}
            finally:
                if agent is not None and agent.poll() is None:
                    agent.send_signal(signal.SIGKILL)
                    agent.wait()
                dataplane.remove_everything()
                _kill_dnsmasq(data_dir)  # any left by the killed agent


def _kill_dnsmasq(data_dir: Path) -> None:
    for pid in processes_mentioning(str(data_dir), b"dnsmasq"):
        os.kill(pid, signal.SIGKILL)


# -- floating IP association to the first answered ping ---------------------------------------
# Runs in a namespace: an ICMP echo every 50 ms (each its own sequence number) until one is
# answered, then prints the CLOCK_MONOTONIC time of that answer and the echo's round trip.
# One process, so the figure carries no process start per attempt (busybox ping's -W is whole seconds).
PINGER = r"""
import os, socket, struct, sys, time
address, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
max_ttl = int(sys.argv[3])  # replies that crossed fewer routers than expected are not the guest's
def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sock.settimeout(0.05)
ident, sent = os.getpid() & 0xFFFF, {}
for seq in range(1, 1 << 16):
    if time.monotonic() > deadline:
        sys.exit(1)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    sock.sendto(struct.pack("!BBHHH", 8, 0, checksum(header), ident, seq), (address, 0))
    sent[seq] = time.monotonic()
    until = sent[seq] + 0.05
    while (left := until - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            packet = sock.recv(1500)
        except socket.timeout:
            break
        now = time.monotonic()
        icmp = packet[(packet[0] & 0x0F) * 4:]
        kind, _, _, their_ident, their_seq = struct.unpack("!BBHHH", icmp[:8])
        if kind == 0 and their_ident == ident and their_seq in sent and packet[8] <= max_ttl:
            print(now, now - sent[their_seq])
            sys.exit(0)
"""


def first_answer(namespace: str, address: str, timeout: float, max_ttl: int = 255) -> tuple[float, float]:
    """(monotonic time of the first answered echo, its round trip) from inside `namespace`;
    max_ttl 63 takes only answers that crossed a router (the guest behind its floating IP:
    the router's own answer would come with 64)."""
    reply = in_ns(namespace, sys.executable, "-c", PINGER, address, str(timeout), str(max_ttl), check=False)
    if reply.returncode != 0:
        raise TimeoutError(f"no echo answered by {address} from {namespace} within {timeout:.0f}s")
    answered, round_trip = reply.stdout.split()
    return float(answered), float(round_trip)


def poll(what: str, check: Any, timeout: float = 300, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


def created(client: httpx.Client, path: str, resource: str, **fields: Any) -> dict[str, Any]:
    reply = client.post(path, json={resource: fields})
    if reply.status_code not in (200, 201, 202):
        raise RuntimeError(f"POST {path}: {reply.status_code} {reply.text[:300]}")
    return dict(reply.json()[resource])


def floating_ip(rounds: int, anchors: int = 5) -> dict[str, Any]:
    scope, outside = secrets.token_hex(3), Outside()
    image_cache = build_test_image(default_guest_image_cache()).parent
    with tempfile.TemporaryDirectory(prefix="bench-fip-") as tmp:
        cloud = LiveCloud(Path(tmp) / "cloud", extra_env=qemu_cloud_env(scope, "public", outside.bridge, image_cache))
        try:
            outside.start()
            cloud.start(timeout=120)
            headers = {"X-Auth-Token": admin_token(cloud)}
            neutron = httpx.Client(base_url=cloud.url + NEUTRON, headers=headers, timeout=60)
            nova = httpx.Client(base_url=cloud.url + "/compute/v2.1", headers=headers, timeout=60)
            glance = httpx.Client(base_url=cloud.url + "/image/v2", headers=headers, timeout=60)

            provider = {"router:external": True, "provider:network_type": "flat", "provider:physical_network": "public"}
            public = created(neutron, "/networks", "network", name="public", **provider)
            pool = [{"start": "198.51.100.10", "end": "198.51.100.99"}]
            external = {"cidr": "198.51.100.0/24", "gateway_ip": outside.address, "enable_dhcp": False, "allocation_pools": pool}
            created(neutron, "/subnets", "subnet", network_id=public["id"], ip_version=4, **external)
            net = created(neutron, "/networks", "network", name="net1")
            subnet = created(neutron, "/subnets", "subnet", network_id=net["id"], ip_version=4, cidr="10.10.0.0/24")
            router = created(neutron, "/routers", "router", name="r1", external_gateway_info={"network_id": public["id"]})
            neutron.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": subnet["id"]}).raise_for_status()
            group = created(neutron, "/security-groups", "security_group", name="icmp")
            created(neutron, "/security-group-rules", "security_group_rule", security_group_id=group["id"], direction="ingress", ethertype="IPv4", protocol="icmp")

            image = poll("the test image", lambda: glance.get("/images", params={"name": "pocketstack-test-guest"}).json()["images"])[0]
            flavor = next(f for f in nova.get("/flavors").json()["flavors"] if f["name"] == "m1.nano")
            server = created(nova, "/servers", "server", name="vm1", imageRef=image["id"], flavorRef=flavor["id"], networks=[{"uuid": net["id"]}], security_groups=[{"name": group["id"]}])
            poll("vm1 ACTIVE", lambda: nova.get(f"/servers/{server['id']}").json()["server"]["status"] == "ACTIVE", interval=2)
            lease = re.compile(rf"^{MARKER} ip eth0 ([\d.]+)/", re.M)
            console = lambda: nova.post(f"/servers/{server['id']}/action", json={"os-getConsoleOutput": {}}).json()["output"]  # noqa: E731
            fixed_ip = poll("vm1's DHCP lease on its console", lambda: lease.search(console()), interval=2).group(1)
            port = neutron.get("/ports", params={"device_id": server["id"]}).json()["ports"][0]
            fip = created(neutron, "/floatingips", "floatingip", floating_network_id=public["id"])

            qrouter = router_namespace(router["id"])
            first_answer(qrouter, fixed_ip, timeout=120)  # the plugged path works before anything is timed
            anchor = [first_answer(qrouter, fixed_ip, timeout=10)[1] for _ in range(anchors)]
            associate, fip_round_trip = [], []
            for _ in range(rounds):
                started = time.monotonic()
                neutron.put(f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": port["id"]}}).raise_for_status()
                answered, round_trip = first_answer(outside.namespace, fip["floating_ip_address"], timeout=120, max_ttl=GUEST_TTL_BEHIND_ROUTER)
                associate.append(answered - started)
                fip_round_trip.append(round_trip)
                neutron.put(f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}}).raise_for_status()
                poll("the floating IP to stop answering", lambda: not outside.ping(fip["floating_ip_address"]), timeout=120, interval=0.2)
            interval = cloud.extra_env["POCKETSTACK_NETWORK__AGENT_INTERVAL"]
            return {"associate": associate, "anchor": anchor, "fip_round_trip": fip_round_trip, "agent_interval": interval}
        finally:
            tear_down(cloud, scope, outside)


def report(creation: dict[str, Any] | None, rebuilt: dict[str, Any] | None, fip: dict[str, Any] | None) -> str:
    lines = [SECTION, "", f"Measured {dt.date.today().isoformat()} on this machine ({os.cpu_count()} CPUs) by `benchmarks/network.py`.", ""]
    if creation:
        a, c = creation["anchor"], creation["create"]
        lines += [
            f"### Port creation, {creation['count']} ports from {creation['clients']} parallel clients (one /16 subnet)",
            "",
            "| request | per second | p50 | p99 |",
            "| --- | --- | --- | --- |",
            f"| anchor: GET /v2.0/networks/{{id}} | {a['per_s']:.0f} | {a['p50'] * 1000:.0f} ms | {a['p99'] * 1000:.0f} ms |",
            f"| POST /v2.0/ports (IPAM in the database) | {c['per_s']:.1f} | {c['p50'] * 1000:.0f} ms | {c['p99'] * 1000:.0f} ms |",
            "",
            f"Failed creates: {creation['failed']}; duplicate addresses: {creation['duplicate_ips']}; duplicate MACs: {creation['duplicate_macs']}.",
            "",
        ]
    if rebuilt:
        lines += [
            f"### Dataplane of {rebuilt['ports']} ports on {rebuilt['networks']} DHCP networks (linux dataplane)",
            "",
            "| step | seconds |",
            "| --- | --- |",
            f"| first build by a new agent (taps on bridges, dnsmasq per network, firewall) | {rebuilt['first']:.2f} |",
            f"| rebuild after kill -9 of the agent and the loss of everything it built | {rebuilt['rebuild']:.2f} |",
            "",
        ]
    if fip:
        each = ", ".join(f"{v:.2f}" for v in fip["associate"])
        lines += [
            f"### Floating IP association to the first answered ping, {len(fip['associate'])} rounds (QEMU guest, linux dataplane)",
            "",
            "| step | seconds |",
            "| --- | --- |",
            f"| anchor: echo round trip to the server's fixed IP from qrouter-<router> (already plugged), median of {len(fip['anchor'])} | {statistics.median(fip['anchor']):.6f} |",
            f"| PUT /v2.0/floatingips/{{id}} (port_id) -> first echo answered from the outside namespace, median (each: {each}) | {statistics.median(fip['associate']):.2f} |",
            "",
            f"Echoes every 50 ms from the outside namespace; the network agent's pass interval is {fip['agent_interval']} s (the walkthrough's). "
            f"Round trip through the floating IP once answered: median {statistics.median(fip['fip_round_trip']) * 1e6:.0f} µs.",
            "",
        ]
    lines.append("Re-run: `.venv/bin/python benchmarks/network.py --write docs/benchmarks.md` (the rebuild and the floating IP need root).")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rebuild-ports", type=int, default=100)
    parser.add_argument("--fip-rounds", type=int, default=3)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    creation = port_creation(args.ports, args.clients)
    rebuilt = rebuild(args.rebuild_ports) if os.geteuid() == 0 else None
    fip = floating_ip(args.fip_rounds) if os.geteuid() == 0 else None
    text = report(creation, rebuilt, fip)
    print(text)
    if args.write:
        write_section(args.write, SECTION, text)
    return 0 if creation["duplicate_ips"] == 0 and creation["duplicate_macs"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
