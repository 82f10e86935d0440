"""Finding the processes a test or benchmark cloud started but does not parent (daemonized
qemu, dnsmasq in namespaces), by what their command line names."""

from __future__ import annotations

from pathlib import Path


def processes_mentioning(text: str, program: bytes) -> list[int]:
    """PIDs of `program` processes whose command line holds `text` (a data directory, a server id)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if program in cmdline.split(b"\0", 1)[0] and text.encode() in cmdline:
                pids.append(int(entry.name))
    return pids
