"""What this host offers, in the shape Nova's libvirt driver reports it."""

from __future__ import annotations

import os
import re

from pocketstack.drivers.compute.accel import TCG_CPU_MODEL, Acceleration
from pocketstack.drivers.compute.base import DriverError


def parse_qemu_version(output: str) -> int:
    match = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", output)
    if match is None:
        raise DriverError(f"cannot read the QEMU version from {output.strip()[:200]!r}")
    major, minor, micro = (int(part or 0) for part in match.groups())
    return major * 1_000_000 + minor * 1_000 + micro


def meminfo_total_mb() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise DriverError("/proc/meminfo has no MemTotal")


def cpu_info(acceleration: Acceleration) -> dict[str, object]:
    """What os-hypervisors shows as cpu_info, shaped like Nova's libvirt driver's."""
    vendor, flags = "", []
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "vendor_id" and not vendor:
                    vendor = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = value.split()
    except OSError:
        pass
    count = os.cpu_count() or 1
    return {
        "arch": os.uname().machine,
        "model": "host" if acceleration.kind == "kvm" else TCG_CPU_MODEL,
        "vendor": vendor,
        "topology": {"sockets": 1, "cores": count, "threads": 1},
        "features": sorted(flags) if acceleration.kind == "kvm" else [],
    }
