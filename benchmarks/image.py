#!/usr/bin/env python3
"""Image benchmark: upload and download of a big image through the API, against the raw
disk throughput of the same machine, measured in the same run.

    .venv/bin/python benchmarks/image.py [--size 2G] [--rounds 3] [--write docs/benchmarks.md]

What it measures (loopback only, everything inside one temporary directory):
- raw disk: `dd if=/dev/zero bs=4M conv=fsync` into a file in the cloud's data dir (write),
  then a `dd` read of that file to /dev/null after dropping the page cache (read);
- the API: PUT /image/v2/images/{id}/file with curl streaming a file of random bytes
  (held in the page cache, as /dev/zero is for dd), and GET .../file with curl to /dev/null
  after dropping the page cache again, so both reads start cold;
- the server's RSS (VmRSS, sampled every 0.2 s) and CPU time during each transfer;
- all of it --rounds times (a shared machine's disk is noisy), reporting medians, after
  one unmeasured dd write so that dd and the upload meet the disk in the same state;
- that the image's checksum and os_hash_value match the data sent, and that the bytes
  downloaded hash to the same md5 (checked after the timed download, untimed).

Dropping the page cache needs root; the output says whether it happened.
MB/s means 10^6 bytes per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from common import Sampler, admin_token, write_section  # noqa: E402

from pocketstack.testing.server import LiveCloud  # noqa: E402

BLOCK = 4 * 1024 * 1024  # dd's bs=4M, and the block the random source is written in
SECTION = "## Image (issue #3)"
RATIO_TARGET = 0.80
RSS_GROWTH_TARGET_MB = 50


@dataclass
class Transfer:
    seconds: float
    size: int
    rss_kb: list[int] = field(default_factory=list)
    cpu_seconds: float | None = None

    @property
    def mb_per_s(self) -> float:
        return self.size / self.seconds / 1e6


@dataclass
class Cycle:
    """One round of the four transfers."""

    raw_write: Transfer
    raw_read: Transfer
    upload: Transfer
    download: Transfer
    caches_dropped: bool
    checks: dict[str, bool]


@dataclass
class Result:
    size: int
    cycles: list[Cycle]
    rss_baseline_kb: int  # the server's RSS before the first upload
    load: tuple[float, float]  # 1-minute load average at the start and at the end
    hashes: dict[str, float]  # MB/s of md5 and sha512 on one core

    def median_mb_per_s(self, kind: str) -> float:
        return statistics.median(getattr(c, kind).mb_per_s for c in self.cycles)

    def peak_rss_growth_mb(self, kind: str) -> float:
        """Peak RSS during any transfer of this kind, over the RSS before the first upload:
        a leak across rounds shows here too."""
        return (max(max(getattr(c, kind).rss_kb) for c in self.cycles) - self.rss_baseline_kb) / 1024

    @property
    def caches_dropped(self) -> bool:
        return all(c.caches_dropped for c in self.cycles)

    @property
    def checks(self) -> dict[str, bool]:
        return {name: all(c.checks.get(name, False) for c in self.cycles) for name in self.cycles[0].checks}


# -- the machine ----------------------------------------------------------------------


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+)([KMGT]?)(i?B)?", text.strip(), re.I)
    if not m:
        raise ValueError(f"not a size: {text!r} (e.g. 2G, 512M)")
    power = " KMGT".index(m.group(2).upper() or " ")
    return int(m.group(1)) * 1024**power


def drop_caches() -> bool:
    """Write dirty pages out and empty the page cache, so the next read comes from disk."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def dd(args: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(["dd", *args, "status=none"], check=True)
    return time.monotonic() - started


def raw_disk(probe: Path, blocks: int) -> tuple[Transfer, Transfer, bool]:
    size = blocks * BLOCK
    write = Transfer(dd(["if=/dev/zero", f"of={probe}", "bs=4M", f"count={blocks}", "conv=fsync"]), size)
    dropped = drop_caches()
    read = Transfer(dd([f"if={probe}", "of=/dev/null", "bs=4M"]), size)
    probe.unlink()
    return write, read, dropped


def warm_up_disk(probe: Path, blocks: int) -> None:
    """Write and delete one probe, unmeasured. On a virtual disk the first write to blocks
    the guest never used can be several times slower than a write to blocks it freed
    (thin-provisioned host storage: 250 against 700-1300 MB/s here); without this, the
    first round's dd would meet fresh blocks and the upload after it reused ones."""
    dd(["if=/dev/zero", f"of={probe}", "bs=4M", f"count={blocks}", "conv=fsync"])
    probe.unlink()


def make_source(path: Path, blocks: int) -> tuple[str, str]:
    """A file of random bytes (nothing can take a shortcut on zeros); returns md5, sha512."""
    md5, sha512 = hashlib.md5(), hashlib.sha512()
    with open(path, "wb") as f:
        for _ in range(blocks):
            chunk = os.urandom(BLOCK)
            md5.update(chunk)
            sha512.update(chunk)
            f.write(chunk)
    # written out now, so its writeback does not compete with the uploads
    os.sync()
    return md5.hexdigest(), sha512.hexdigest()


def warm(path: Path) -> None:
    """Read a file once so its pages are cached: curl then reads it from memory, as dd
    reads /dev/zero, and the upload is measured against disk writes alone."""
    with open(path, "rb") as f:
        while f.read(BLOCK):
            pass


# -- the server -------------------------------------------------------------------------


def curl(args: list[str], token: str) -> tuple[int, float]:
    """Run curl; returns (HTTP status, seconds it took by curl's own clock)."""
    cmd = ["curl", "-sS", "-H", f"X-Auth-Token: {token}", "-w", "%{http_code} %{time_total}", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    status, seconds = out.strip().rsplit(" ", 2)[-2:]
    return int(status), float(seconds)


def downloaded_md5(url: str, token: str) -> str:
    """md5 of the bytes GET .../file returns, streamed through curl (not timed)."""
    md5 = hashlib.md5()
    with subprocess.Popen(["curl", "-sS", "-f", "-H", f"X-Auth-Token: {token}", url], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(BLOCK):
            md5.update(chunk)
    if proc.returncode != 0:
        raise RuntimeError(f"download for verification failed (curl exit {proc.returncode})")
    return md5.hexdigest()


def api_transfers(cloud: LiveCloud, source: Path, md5: str, sha512: str) -> tuple[Transfer, Transfer, int, bool, dict[str, bool]]:
    assert cloud.proc is not None
    token = admin_token(cloud)
    images = cloud.url + "/image/v2/images"
    http = httpx.Client(headers={"X-Auth-Token": token}, timeout=60)
    reply = http.post(images, json={"name": "bench-image", "disk_format": "raw", "container_format": "bare"})
    if reply.status_code != 201:
        raise RuntimeError(f"POST /v2/images: {reply.status_code} {reply.text[:500]}")
    image_id = reply.json()["id"]
    file_url = f"{images}/{image_id}/file"
    size = source.stat().st_size
    baseline = Sampler(cloud.proc.pid).rss_kb()
    try:
        warm(source)
        with Sampler(cloud.proc.pid) as up:
            # no `Expect: 100-continue` round trip: send the body at once, as the clients do
            headers = ["-H", "Content-Type: application/octet-stream", "-H", "Expect:"]
            status, seconds = curl(["-X", "PUT", "-T", str(source), *headers, "-o", "/dev/null", file_url], token)
        if status != 204:
            raise RuntimeError(f"upload answered {status}")
        upload = Transfer(seconds, size, up.samples, up.cpu_used)

        image = http.get(f"{images}/{image_id}").json()
        algo = image.get("os_hash_algo")
        expected_hash = sha512 if algo == "sha512" else hash_file(source, algo)
        checks = {
            "status active": image.get("status") == "active",
            "size matches": image.get("size") == size,
            "checksum (md5) matches": image.get("checksum") == md5,
            f"os_hash_value ({algo}) matches": image.get("os_hash_value") == expected_hash,
        }

        dropped = drop_caches()
        with Sampler(cloud.proc.pid) as down:
            status, seconds = curl(["-o", "/dev/null", file_url], token)
        if status != 200:
            raise RuntimeError(f"download answered {status}")
        download = Transfer(seconds, size, down.samples, down.cpu_used)
        checks["downloaded bytes match (md5)"] = downloaded_md5(file_url, token) == md5
        return upload, download, baseline, dropped, checks
    finally:
        http.delete(f"{images}/{image_id}")
        http.close()


def hash_file(path: Path, algo: str | None) -> str | None:
    if not algo:
        return None
    digest = hashlib.new(algo)
    with open(path, "rb") as f:
        while chunk := f.read(BLOCK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_speeds(megabytes: int = 512) -> dict[str, float]:
    """MB/s of md5 and sha512 on one core of this machine: every upload computes both over
    every byte, one after the other, so the slower one caps any upload."""
    data = os.urandom(64 * 1024 * 1024)
    speeds = {}
    for algo in ("md5", "sha512"):
        h = hashlib.new(algo)
        start = time.perf_counter()
        for _ in range(megabytes // 64):
            h.update(data)
        speeds[algo] = megabytes * 1024 * 1024 / 1e6 / (time.perf_counter() - start)
    return speeds


def run(size: int, rounds: int) -> Result:
    blocks = -(-size // BLOCK)
    size = blocks * BLOCK
    work = Path(tempfile.mkdtemp(prefix="pocketstack-image-bench-"))
    load_before = os.getloadavg()[0]
    try:
        # at the peak: the source file and the stored image (or the dd probe) are both on disk
        need = 2 * size + (1 << 30)
        free = shutil.disk_usage(work).free
        if free < need:
            sys.exit(f"benchmarks/image.py: {free / 2**30:.1f} GiB free under {work}, need {need / 2**30:.1f} GiB")
        cloud = LiveCloud(work / "data", hash_rounds=None)
        cloud.start(timeout=60)
        try:
            source = work / "source.bin"
            md5, sha512 = make_source(source, blocks)
            warm_up_disk(cloud.data_dir / "raw-probe.bin", blocks)
            cycles: list[Cycle] = []
            baseline = 0
            for _ in range(rounds):
                raw_write, raw_read, dropped_raw = raw_disk(cloud.data_dir / "raw-probe.bin", blocks)
                upload, download, rss_before, dropped_api, checks = api_transfers(cloud, source, md5, sha512)
                baseline = baseline or rss_before
                cycles.append(Cycle(raw_write, raw_read, upload, download, dropped_raw and dropped_api, checks))
        finally:
            cloud.stop()
        return Result(size, cycles, baseline, (load_before, os.getloadavg()[0]), hash_speeds())
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the report -------------------------------------------------------------------------


def report(r: Result, size_arg: str) -> str:
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cache = "dropped before each cold read" if r.caches_dropped else "NOT dropped (not root?): reads may come from memory"
    rounds = len(r.cycles)
    lines = [
        SECTION,
        "",
        f"Measured {when} on this machine ({os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, shared; data dir on {filesystem_of(Path(tempfile.gettempdir()))}),",
        f"`benchmarks/image.py --size {size_arg} --rounds {rounds}`: a {human_size(r.size)} image of random bytes through the image API",
        f"with curl (loopback), against `dd` on the same disk, {rounds} round(s) in the same run, medians shown;",
        f"one unmeasured dd write first, so that dd and the uploads both write to blocks the disk has seen. Page cache: {cache}.",
        "",
        "| transfer | raw disk (dd) MB/s | API (curl) MB/s | API / raw | target | server RSS growth (peak) | target | server CPU |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- | ---: |",
    ]
    for raw, api, label in (("raw_write", "upload", "write / upload"), ("raw_read", "download", "read / download")):
        raw_speed, api_speed = r.median_mb_per_s(raw), r.median_mb_per_s(api)
        cpu = statistics.median(getattr(c, api).cpu_seconds or 0.0 for c in r.cycles)
        lines.append(
            f"| {label} | {raw_speed:.0f} | {api_speed:.0f} | {api_speed / raw_speed:.0%} | ≥ {RATIO_TARGET:.0%} "
            f"| {r.peak_rss_growth_mb(api):+.1f} MB | < {RSS_GROWTH_TARGET_MB} MB | {cpu:.1f} s |"
        )
    each = "; ".join(
        f"{kind.replace('_', ' ')} " + ", ".join(f"{getattr(c, kind).mb_per_s:.0f}" for c in r.cycles)
        for kind in ("raw_write", "upload", "raw_read", "download")
    )
    checks = ", ".join(f"{name}: {'yes' if ok else 'NO'}" for name, ok in r.checks.items())
    ceiling = min(r.hashes.values())
    raw_write = r.median_mb_per_s("raw_write")
    busy = statistics.median((c.upload.cpu_seconds or 0.0) / c.upload.seconds for c in r.cycles)
    lines += [
        "",
        f"Each round (MB/s): {each}.",
        f"Load average (1 min) at the start and the end: {r.load[0]:.1f}, {r.load[1]:.1f} on {os.cpu_count()} cores; the server kept "
        f"{busy:.1f} cores busy during the uploads (CPU seconds per second), so other work on the machine slows them.",
        f"Server RSS before the first upload: {r.rss_baseline_kb / 1024:.0f} MB; sampled every 0.2 s during each transfer, growth is the peak over all rounds minus that.",
        f"Checks (every round): {checks}.",
        f"Hashing, measured in the same run on one core: md5 {r.hashes['md5']:.0f} MB/s, sha512 {r.hashes['sha512']:.0f} MB/s. Glance's "
        f"`checksum` and `os_hash_value` are computed over every byte while it streams in (each hash is sequential, one core each), "
        f"so no upload here can pass {ceiling:.0f} MB/s, {ceiling / raw_write:.0%} of the raw write: the upload target is out of reach on "
        "this machine whatever the server does, as long as both hashes are computed during the upload.",
        "Re-run: `.venv/bin/python benchmarks/image.py --write docs/benchmarks.md` (needs curl; root to drop the page cache).",
        "",
    ]
    return "\n".join(lines)


def human_size(size: int) -> str:
    return f"{size / 2**30:g} GiB" if size >= 2**30 else f"{size / 2**20:g} MiB"


def filesystem_of(path: Path) -> str:
    out = subprocess.run(["df", "--output=source,fstype", str(path)], capture_output=True, text=True).stdout.split("\n")[1].split()
    return f"{out[1]} on {out[0]}" if len(out) == 2 else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="2G", help="image size, e.g. 2G, 256M (rounded up to 4 MiB)")
    parser.add_argument("--rounds", type=int, default=3, help="measure this many times; medians are reported")
    parser.add_argument("--write", type=Path, help="replace the image section of this markdown file")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        sys.exit("benchmarks/image.py: install curl (apt-get install curl)")
    try:
        size = parse_size(args.size)
    except ValueError as exc:
        parser.error(str(exc))
    if size <= 0 or args.rounds < 1:
        parser.error("--size and --rounds must be positive")
    result = run(size, args.rounds)
    text = report(result, args.size)
    print(text)
    if args.write:
        write_section(args.write, SECTION, text)
    return 0 if all(result.checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
