"""Checks both compute drivers make on what the agent asks, so the fake refuses what the real one does."""

from __future__ import annotations

import uuid

from pocketstack.drivers.compute.base import DriverError, GuestSpec

MIN_MEMORY_MB = 16  # below this no x86 guest starts (QEMU itself refuses less than about 8)


def is_server_id(name: object) -> bool:
    """A canonical UUID string: what QEMU's -uuid takes and what is safe as a directory name."""
    if not isinstance(name, str) or len(name) != 36:
        return False
    try:
        return str(uuid.UUID(name)) == name.lower()
    except ValueError:
        return False


def check_spec(spec: GuestSpec) -> None:
    if not is_server_id(spec.server_id):
        raise DriverError(f"server id {spec.server_id!r} is not a UUID")
    if spec.vcpus < 1 or spec.memory_mb < MIN_MEMORY_MB:
        raise DriverError(f"a guest needs at least 1 CPU and {MIN_MEMORY_MB} MB of memory, not {spec.vcpus} and {spec.memory_mb}")
    if spec.root_gb < 0 or spec.ephemeral_gb < 0 or spec.swap_mb < 0:
        raise DriverError("disk sizes cannot be negative")
    if spec.image.disk_format not in ("qcow2", "raw"):
        raise DriverError(f"cannot boot a {spec.image.disk_format} image: the agent converts it to qcow2 or raw first")
