"""Compute drivers (base.py is their contract) and the choice of one for this host."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pocketstack.config import Settings

    from .base import ComputeDriver

QEMU_BINARY = "qemu-system-x86_64"


def load_driver(settings: Settings) -> ComputeDriver:
    """settings.compute.driver: "qemu", "fake", or "auto" (qemu wherever it is installed)."""
    options = settings.compute
    kind = options.driver
    if kind == "auto":
        kind = "qemu" if shutil.which(QEMU_BINARY) else "fake"
    if kind == "fake":
        from .fake import FakeDriver

        return FakeDriver(spawn_delay=options.fake_spawn_delay)
    if kind == "qemu":
        from .qemu.driver import QemuDriver

        root = settings.data_dir / "compute"
        return QemuDriver(
            root / "instances", cache_dir=root / "cache", use_cow=options.use_cow_images, console_log_bytes=options.console_log_bytes
        )
    raise ValueError(f"compute.driver must be qemu, fake or auto, not {kind!r}")
