"""Finding, waiting for and (as a last resort) killing a guest's daemonized QEMU by its pidfile.

QEMU started with -daemonize is not our child: it is re-parented to init (or the nearest
subreaper), which reaps it. So we cannot wait(2) for it; we watch /proc. A pid counts as the
guest's QEMU only while it is alive (not a zombie awaiting its reaper) and its command line
has ``-uuid <server id>``: a stale pidfile left by a killed QEMU must not make us signal whatever
process got that pid later.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

POLL_S = 0.05


def guest_pid(pidfile: Path, server_id: str) -> int | None:
    """The pid of the live QEMU running `server_id` according to `pidfile`, else None."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if is_guest_process(pid, server_id) else None


def is_guest_process(pid: int, server_id: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3]  # the field after "(comm)"
    if state in (b"Z", b"X"):  # exited, not reaped yet
        return False
    arguments = cmdline.split(b"\0")
    # "-uuid <server_id>": a QEMU of ours, not e.g. a `tail` of the guest's console log
    return any(flag == b"-uuid" and value == server_id.encode() for flag, value in zip(arguments, arguments[1:]))


def wait_for_exit(pid: int, server_id: str, timeout: float) -> bool:
    """True once the process is gone (within `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while is_guest_process(pid, server_id):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def kill_guest_process(pid: int, server_id: str) -> None:
    """SIGKILL, only if `pid` still is this guest's QEMU (checked just before)."""
    if is_guest_process(pid, server_id):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def last_qemu_error(qemu_log: Path) -> str:
    """QEMU's error lines after the last start line, for a DriverError a user may read."""
    try:
        text = qemu_log.read_text(errors="replace")
    except FileNotFoundError:
        return "no output"
    after_start = text.rsplit(" start: ", 1)[-1].split("\n", 1)[-1] if " start: " in text else text
    lines = [line.strip() for line in after_start.splitlines() if line.strip()]
    return " / ".join(lines[-3:]) or "no output"
