"""The serial console log, kept bounded without losing what the guest writes.

QEMU's file chardev appends forever. Two ways to bound it were considered:
- truncating the file in place: QEMU writes with O_APPEND, so that is safe for QEMU, but
  whatever the guest wrote between our copy of the tail and the truncation is lost;
- rotating it: rename console.log to console.log.0 (QEMU keeps writing into the renamed
  file through its open descriptor), then QMP ``chardev-change`` points the serial port's
  backend at a fresh console.log. Nothing is lost: bytes written before the switch are in
  .0, bytes after it in the new file. That is what we do (logrotate's rename-and-reopen).
When QEMU is not running the rename alone is enough. The log therefore holds between
`limit` and 2 x `limit` bytes plus what arrived since the last check; the driver checks
on every read, every start and every list_guests pass of the agent.

console_output() reads console.log.0 and console.log together and returns their last lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pocketstack.drivers.compute.qemu.layout import InstanceFiles

CHARDEV_ID = "console"


def needs_rotation(files: InstanceFiles, limit: int) -> bool:
    try:
        return files.console_log.stat().st_size > limit
    except FileNotFoundError:
        return False


def rotate(files: InstanceFiles, reopen: Callable[[dict], None] | None) -> None:
    """Move console.log to console.log.0 and, for a running QEMU, `reopen` (a QMP call taking the
    chardev-change arguments) so it writes to a new console.log."""
    os.replace(files.console_log, files.console_log_previous)
    if reopen is not None:
        reopen(chardev_change_arguments(files))


def chardev_change_arguments(files: InstanceFiles) -> dict:
    return {"id": CHARDEV_ID, "backend": {"type": "file", "data": {"out": str(files.console_log), "append": True}}}


def tail(files: InstanceFiles, length: int | None, *, max_bytes: int) -> str:
    """The last `length` lines (all when None) of the log, at most about `max_bytes` of it."""
    data = b""
    for path in (files.console_log_previous, files.console_log):
        try:
            with path.open("rb") as log:
                size = log.seek(0, os.SEEK_END)
                log.seek(max(0, size - max_bytes))
                data += log.read()
        except FileNotFoundError:
            continue
    data = data[-max_bytes:]
    text = data.decode("utf-8", errors="replace").replace("\x00", "")
    if length is None:
        return text
    if length <= 0:
        return ""
    lines = text.splitlines(keepends=True)
    return "".join(lines[-length:])
