#!/usr/bin/env python3
"""Compute benchmark: the servers API at scale on the fake hypervisor, and real QEMU boots
through the cloud against bare qemu-system-x86_64 booting the same image, in one run.

    .venv/bin/python benchmarks/compute.py [--servers 1000] [--clients 8] [--boots 3] [--write docs/benchmarks.md]

Fake driver (an all-in-one with compute.driver = fake):
- create N servers from C parallel clients (POST /servers, m1.nano), then wait until all
  are ACTIVE; list them all with GET /servers/detail?limit=100 page by page; delete them
  from C clients and wait until none is left. Servers per second for each phase (API
  answers, and to the final state), p50/p99 latency of the requests;
- anchor: GET /compute/v2.1/flavors/42 from the same clients in the same cloud, which is
  the cost of an authenticated request that does nothing.

QEMU (an all-in-one with the qemu driver and the published test guest):
- bare: qemu-system-x86_64 with the driver's accelerator flags boots a qcow2 overlay of the
  test image; seconds from exec to the console line "POCKETSTACK-GUEST: booted";
- cloud: seconds from POST /servers to the same line in the server's console log
  (the log file is polled every 50 ms in both cases);
- RSS of the all-in-one process with no server and with the booted ones running, per server.
Medians of --boots rounds each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from common import Sampler, admin_token, write_section

from pocketstack.config import default_guest_image_cache
from pocketstack.drivers.compute.accel import probe_acceleration, qemu_accel_args
from pocketstack.guest import build_test_image
from pocketstack.testing.processes import processes_mentioning
from pocketstack.testing.server import LiveCloud

SECTION = "## Compute (issue #4)"
MARKER = b"POCKETSTACK-GUEST: booted"
SERVICES = json.dumps(["identity", "image", "compute"])
RATIO_TARGET = 1.3
NOVA = "/compute/v2.1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(client: httpx.Client, method: str, url: str, **kw: Any) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    reply = client.request(method, url, **kw)
    return reply, time.perf_counter() - started


# -- the fake driver at scale ----------------------------------------------------------------
def fake_scale(count: int, clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-compute-") as tmp:
        env = {"POCKETSTACK_SERVICES": SERVICES, "POCKETSTACK_COMPUTE__DRIVER": "fake", "POCKETSTACK_COMPUTE__AGENT_INTERVAL": "1"}
        with LiveCloud(Path(tmp), extra_env=env) as cloud:
            token = admin_token(cloud)
            headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.37"}
            http = httpx.Client(base_url=cloud.url + NOVA, headers=headers, timeout=120, limits=httpx.Limits(max_connections=clients))
            project = cloud.env("admin")["OS_PROJECT_NAME"]
            project_id = _project_id(cloud, token, project)
            http.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"instances": -1, "cores": -1, "ram": -1}}).raise_for_status()
            image_id = _upload_tiny_image(cloud, token)
            anchor = _latencies(http, clients, ["/flavors/42"] * max(count // 2, 200), "GET")
            create = _create_all(http, clients, count, image_id)
            to_active = _wait_count(http, count, "ACTIVE", create["started"])
            listing = _list_all(http)
            ids = [s["id"] for s in listing["servers"]]
            delete = _latencies(http, clients, [f"/servers/{sid}" for sid in ids], "DELETE")
            gone = _wait_count(http, 0, None, delete["started"])
            return {"count": count, "clients": clients, "anchor": anchor, "create": create, "to_active": to_active, "list": listing, "delete": delete, "gone": gone}


def _project_id(cloud: LiveCloud, token: str, name: str) -> str:
    reply = httpx.get(cloud.url + f"/identity/v3/projects?name={name}", headers={"X-Auth-Token": token})
    return reply.json()["projects"][0]["id"]


def _upload_tiny_image(cloud: LiveCloud, token: str) -> str:
    glance = httpx.Client(base_url=cloud.url + "/image", headers={"X-Auth-Token": token}, timeout=60)
    image = glance.post("/v2/images", json={"name": "bench", "disk_format": "raw", "container_format": "bare"}).json()
    glance.put(f"/v2/images/{image['id']}/file", content=b"\0" * 65536, headers={"Content-Type": "application/octet-stream"}).raise_for_status()
    return image["id"]


def _latencies(http: httpx.Client, clients: int, urls: list[str], method: str, bodies: list[Any] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda i: timed(http, method, urls[i], json=bodies[i] if bodies else None), range(len(urls))))
    elapsed = time.perf_counter() - started
    bad = [r.status_code for r, _ in results if r.status_code >= 400]
    if bad:
        raise RuntimeError(f"{method}: {len(bad)} requests failed, e.g. {bad[:5]}")
    seconds = [s for _, s in results]
    return {"started": started, "elapsed": elapsed, "per_s": len(urls) / elapsed, "p50": percentile(seconds, 0.5), "p99": percentile(seconds, 0.99)}


def _create_all(http: httpx.Client, clients: int, count: int, image_id: str) -> dict[str, Any]:
    bodies = [{"server": {"name": f"bench-{i}", "imageRef": image_id, "flavorRef": "42", "networks": "none"}} for i in range(count)]
    return _latencies(http, clients, ["/servers"] * count, "POST", bodies)


def _wait_count(http: httpx.Client, wanted: int, status: str | None, started: float) -> dict[str, Any]:
    """Seconds from `started` until `wanted` servers are in `status` (None: until `wanted` exist)."""
    while True:
        query = f"?status={status}&limit=1000" if status else "?limit=1000"
        found = len(http.get("/servers" + query).json()["servers"])
        if found == wanted:
            elapsed = time.perf_counter() - started
            return {"elapsed": elapsed}
        time.sleep(0.2)


def _list_all(http: httpx.Client) -> dict[str, Any]:
    servers: list[dict[str, Any]] = []
    pages: list[float] = []
    started = time.perf_counter()
    url: str | None = "/servers/detail?limit=100"
    while url:
        reply, seconds = timed(http, "GET", url)
        body = reply.json()
        pages.append(seconds)
        servers.extend(body["servers"])
        nxt = [link["href"] for link in body.get("servers_links", []) if link["rel"] == "next"]
        url = nxt[0].split(NOVA, 1)[1] if nxt else None
    elapsed = time.perf_counter() - started
    return {"servers": servers, "elapsed": elapsed, "per_s": len(servers) / elapsed, "p50": percentile(pages, 0.5), "p99": percentile(pages, 0.99), "pages": len(pages)}


# -- real boots ---------------------------------------------------------------------------
def wait_marker(path: Path, started: float, timeout: float = 300.0) -> float:
    while time.perf_counter() - started < timeout:
        try:
            if MARKER in path.read_bytes():
                return time.perf_counter() - started
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"no boot marker in {path}")


def bare_boot(image: Path, accel_args: list[str], work: Path) -> float:
    overlay, console = work / "bare.qcow2", work / "bare.log"
    for leftover in (overlay, console):
        leftover.unlink(missing_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(image), str(overlay)], check=True)
    argv = [
        "qemu-system-x86_64", *accel_args, "-machine", "pc", "-m", "128", "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none",
        "-blockdev", f"driver=file,node-name=f,filename={overlay}", "-blockdev", "driver=qcow2,node-name=d,file=f",
        "-device", "virtio-blk-pci,drive=d", "-chardev", f"file,id=c,path={console}", "-serial", "chardev:c",
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_marker(console, started)
    finally:
        proc.kill()
        proc.wait()


def qemu_boots(rounds: int) -> dict[str, Any]:
    cache = default_guest_image_cache()
    image = build_test_image(cache)
    with tempfile.TemporaryDirectory(prefix="bench-qemu-") as tmp:
        work = Path(tmp)
        acceleration = probe_acceleration(image, work / "probe", cache_file=work / "accel.json")
        accel_args = qemu_accel_args(acceleration)
        bare = [bare_boot(image, accel_args, work) for _ in range(rounds)]
        env = {"POCKETSTACK_SERVICES": SERVICES, "POCKETSTACK_COMPUTE__DRIVER": "qemu", "POCKETSTACK_COMPUTE__TEST_IMAGE": "true", "POCKETSTACK_COMPUTE__GUEST_IMAGE_CACHE": str(cache)}
        with LiveCloud(work / "cloud", extra_env=env) as cloud:
            token = admin_token(cloud)
            http = httpx.Client(base_url=cloud.url + NOVA, headers={"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.37"}, timeout=120)
            image_id = httpx.get(cloud.url + "/image/v2/images?name=pocketstack-test-guest", headers={"X-Auth-Token": token}).json()["images"][0]["id"]
            assert cloud.proc is not None
            sampler = Sampler(cloud.proc.pid)
            time.sleep(2)
            idle_rss = sampler.rss_kb()
            cloud_boots, ids = [], []
            for index in range(rounds):
                started = time.perf_counter()
                reply = http.post("/servers", json={"server": {"name": f"boot-{index}", "imageRef": image_id, "flavorRef": "42", "networks": "none"}})
                reply.raise_for_status()
                sid = reply.json()["server"]["id"]
                ids.append(sid)
                cloud_boots.append(wait_marker(cloud.data_dir / "compute" / "instances" / sid / "console.log", started))
            time.sleep(2)
            busy_rss = sampler.rss_kb()
            guest_rss = [_qemu_rss_kb(sid) for sid in ids]
            for sid in ids:
                http.delete(f"/servers/{sid}")
            deadline = time.monotonic() + 120
            while http.get("/servers").json()["servers"] and time.monotonic() < deadline:
                time.sleep(0.5)
        return {
            "accelerator": acceleration.kind,
            "bare": bare,
            "cloud": cloud_boots,
            "idle_rss_mb": idle_rss / 1024,
            "rss_per_server_mb": (busy_rss - idle_rss) / 1024 / rounds,
            "guest_rss_mb": statistics.median(guest_rss) / 1024 if guest_rss else 0.0,
        }


def _qemu_rss_kb(server_id: str) -> int:
    pids = processes_mentioning(server_id, b"qemu-system")
    return Sampler(pids[0]).rss_kb() if pids else 0


# -- the report -------------------------------------------------------------------------------
def report(scale: dict[str, Any] | None, boots: dict[str, Any] | None) -> str:
    lines = [SECTION, "", f"Measured {dt.date.today().isoformat()} on this machine ({_cpus()} CPUs) by `benchmarks/compute.py`.", ""]
    if scale:
        n, c = scale["count"], scale["clients"]
        a = scale["anchor"]
        lines += [
            f"### Servers API on the fake hypervisor ({n} servers, {c} parallel clients, m1.nano)",
            "",
            "| phase | servers/s | p50 latency | p99 latency |",
            "| --- | --- | --- | --- |",
            f"| anchor: GET /flavors/42 (authenticated no-op) | {a['per_s']:.0f} req/s | {a['p50'] * 1000:.1f} ms | {a['p99'] * 1000:.1f} ms |",
            f"| create: POST /servers answered (202) | {scale['create']['per_s']:.1f} | {scale['create']['p50'] * 1000:.1f} ms | {scale['create']['p99'] * 1000:.1f} ms |",
            f"| create: all {n} ACTIVE | {n / scale['to_active']['elapsed']:.1f} | | |",
            f"| list: /servers/detail, pages of 100 | {scale['list']['per_s']:.0f} | {scale['list']['p50'] * 1000:.1f} ms/page | {scale['list']['p99'] * 1000:.1f} ms/page |",
            f"| delete: DELETE answered (204) | {scale['delete']['per_s']:.1f} | {scale['delete']['p50'] * 1000:.1f} ms | {scale['delete']['p99'] * 1000:.1f} ms |",
            f"| delete: all {n} gone | {n / scale['gone']['elapsed']:.1f} | | |",
            "",
        ]
    if boots:
        bare, ours = statistics.median(boots["bare"]), statistics.median(boots["cloud"])
        ratio = ours / bare
        verdict = "meets" if ratio <= RATIO_TARGET else "misses"
        lines += [
            f"### Boot to the guest's console marker on QEMU ({boots['accelerator'].upper()}), median of {len(boots['bare'])}",
            "",
            "| path | seconds |",
            "| --- | --- |",
            f"| anchor: bare qemu-system-x86_64, exec to marker | {bare:.2f} ({', '.join(f'{b:.2f}' for b in boots['bare'])}) |",
            f"| `server create` to marker (API, scheduler, agent, overlay, config drive, QEMU) | {ours:.2f} ({', '.join(f'{b:.2f}' for b in boots['cloud'])}) |",
            "",
            f"Ratio {ratio:.2f}x the bare boot: {verdict} the target of <= {RATIO_TARGET}x.",
            "",
            f"Control plane RSS: {boots['idle_rss_mb']:.0f} MB idle, +{boots['rss_per_server_mb']:.1f} MB per running server; "
            f"each guest's qemu process: {boots['guest_rss_mb']:.0f} MB RSS (m1.nano, 128 MB of guest RAM).",
            "",
        ]
    lines.append("Re-run: `.venv/bin/python benchmarks/compute.py --write docs/benchmarks.md` (the QEMU part needs qemu-system-x86 and Debian's apt for the test guest).")
    return "\n".join(lines) + "\n"


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--boots", type=int, default=3)
    parser.add_argument("--skip-fake", action="store_true")
    parser.add_argument("--skip-qemu", action="store_true")
    parser.add_argument("--write", type=Path, help="replace the compute section of this markdown file")
    args = parser.parse_args()
    scale = None if args.skip_fake else fake_scale(args.servers, args.clients)
    boots = None if args.skip_qemu or not shutil.which("qemu-system-x86_64") else qemu_boots(args.boots)
    text = report(scale, boots)
    print(text)
    if args.write:
        write_section(args.write, SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
