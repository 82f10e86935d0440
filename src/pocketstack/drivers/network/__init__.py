"""Network dataplanes: `linux` (the real one: bridges, namespaces, dnsmasq, iptables) and
`noop` (records calls). `load_driver` picks one from settings.network.dataplane."""

from __future__ import annotations

import logging
import os

from pocketstack.config import Settings

from .base import NetworkDriver, default_scope

log = logging.getLogger("pocketstack.dataplane")


def dataplane_kind(settings: Settings) -> str:
    """ "linux" or "noop": "auto" means linux when running as root with its tools."""
    wanted = settings.network.dataplane
    if wanted in ("linux", "noop"):
        return wanted
    if wanted != "auto":
        raise ValueError(f"network.dataplane must be auto, linux or noop, not {wanted!r}")
    if os.geteuid() != 0:
        return "noop"
    from .linux import missing_tools

    missing = missing_tools()
    if missing:
        log.warning("network dataplane: noop, because %s is missing (scripts/setup installs it)", ", ".join(missing))
        return "noop"
    return "linux"


def scope_of(settings: Settings) -> str:
    return settings.network.scope or default_scope(settings.effective_database_url)


def load_driver(settings: Settings) -> NetworkDriver:
    if dataplane_kind(settings) == "noop":
        from .noop import NoopDataplane

        return NoopDataplane()
    from .linux import LinuxDataplane

    return LinuxDataplane(settings.data_dir / "network", scope_of(settings))
