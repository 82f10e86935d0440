"""What the driver asks of a running QEMU through its monitor (QMP): run state, stopping
(ACPI, quit, and SIGKILL only as the last resort), reset, saving memory, live disk backup.

Every function opens short QMP sessions of its own (QEMU serves one monitor client at a
time), and none holds a session while it waits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pocketstack.drivers.compute.base import DiskStats, DriverError, PowerState
from pocketstack.drivers.compute.qemu import disks
from pocketstack.drivers.compute.qemu.layout import InstanceFiles
from pocketstack.drivers.compute.qemu.process import is_guest_process, kill_guest_process, last_qemu_error, wait_for_exit
from pocketstack.drivers.compute.qmp import QmpCommandError, QmpError, QmpSession, QmpUnavailable, qmp_execute

log = logging.getLogger(__name__)

MIB = disks.MIB
POWERDOWN_RETRY_S = 3.0  # press the ACPI button again this often (Nova: 10 s)
QUIT_WAIT_S = 30.0  # QEMU flushes its disks on quit
KILL_WAIT_S = 10.0
UNCONFIRMED_QUIT_WAIT_S = 2.0  # a QEMU that exits anyway needs no SIGKILL in the middle of its disk flush
STATUS_TIMEOUT_S = 5.0  # a monitor that does not answer a query-status in this long is stuck or busy
SAVE_RATE_MB_S = 50  # slowest disk we plan for when saving / restoring memory
MIGRATION_MAX_BANDWIDTH = 8 << 30  # bytes/s: QEMU's default cap (128 MiB/s) only makes a save slower

# QMP query-status -> power state, as Nova's libvirt driver maps the domain states behind them
QEMU_STATUS = {
    "running": PowerState.RUNNING,
    "colo": PowerState.RUNNING,
    "paused": PowerState.PAUSED,
    "prelaunch": PowerState.PAUSED,
    "debug": PowerState.PAUSED,
    "io-error": PowerState.PAUSED,
    "watchdog": PowerState.PAUSED,
    "inmigrate": PowerState.PAUSED,
    "finish-migrate": PowerState.PAUSED,
    "save-vm": PowerState.PAUSED,
    "restore-vm": PowerState.PAUSED,
    "postmigrate": PowerState.PAUSED,
    "suspended": PowerState.SUSPENDED,  # guest-initiated S3
    "shutdown": PowerState.SHUTDOWN,
    "internal-error": PowerState.CRASHED,
    "guest-panicked": PowerState.CRASHED,
}
# a save or restore of the guest's memory (suspend, resume) is under way or just done: such a
# guest needs a new QEMU to leave it, and a hot-plug now would not be in the saved state
MIGRATING = frozenset({"inmigrate", "finish-migrate", "save-vm", "restore-vm", "postmigrate", "colo"})
# statuses a guest leaves with system_reset (+ cont)
RESETTABLE = set(QEMU_STATUS) - MIGRATING


def query_status(files: InstanceFiles) -> str | None:
    """QMP's run status, or None when no QEMU answers."""
    try:
        return qmp_execute(files.qmp_socket, "query-status", timeout=STATUS_TIMEOUT_S)["status"]
    except QmpUnavailable:
        return None


def wait_for_restore(files: InstanceFiles, pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = query_status(files)
        if status is None and not is_guest_process(pid, files.server_id):
            raise DriverError(f"restoring the saved guest failed: {last_qemu_error(files.qemu_log)}")
        if status not in (None, "inmigrate"):
            break
        if time.monotonic() >= deadline:
            stop_guest(files, pid, timeout=0)
            raise DriverError(f"restoring the saved guest did not finish within {timeout:g} s")
        time.sleep(0.05)
    migration = qmp_execute(files.qmp_socket, "query-migrate")
    if migration.get("status", "completed") != "completed":
        stop_guest(files, pid, timeout=0)
        raise DriverError(f"restoring the saved guest failed: {migration.get('error-desc', migration.get('status'))}")


def stop_guest(files: InstanceFiles, pid: int, *, timeout: float) -> None:
    """ACPI power button (pressed again until `timeout`), then QMP quit, then SIGKILL."""
    server_id = files.server_id
    if timeout > 0 and query_status(files) == "running":
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(QmpError):
                qmp_execute(files.qmp_socket, "system_powerdown")
            remaining = deadline - time.monotonic()
            if wait_for_exit(pid, server_id, max(0.0, min(POWERDOWN_RETRY_S, remaining))) or remaining <= POWERDOWN_RETRY_S:
                break
    if is_guest_process(pid, server_id):
        try:
            qmp_execute(files.qmp_socket, "quit", timeout=STATUS_TIMEOUT_S)
            quitting = True
        except QmpError as error:  # a hung monitor, or QEMU went away while answering
            log.warning("guest %s: QEMU %d did not confirm quit (%s)", server_id, pid, error)
            quitting = False
        if not wait_for_exit(pid, server_id, QUIT_WAIT_S if quitting else UNCONFIRMED_QUIT_WAIT_S):
            log.warning("guest %s: killing QEMU %d", server_id, pid)
            kill_guest_process(pid, server_id)
            if not wait_for_exit(pid, server_id, KILL_WAIT_S):
                raise DriverError(f"QEMU of guest {server_id} (pid {pid}) does not stop")
    _remove_leftovers(files)


@dataclass(frozen=True)
class GuestStatistics:
    cpu_times_ns: tuple[int, ...]
    memory_mb: int | None
    disks: tuple[DiskStats, ...]


def guest_statistics(files: InstanceFiles, pid: int) -> GuestStatistics:
    """Counters of a running guest in one QMP session: each vCPU thread's CPU time (from
    /proc, by the thread ids QEMU names), the balloon's size, each disk's I/O counters."""
    with QmpSession(files.qmp_socket, timeout=STATUS_TIMEOUT_S) as qmp:
        cpus = qmp.execute("query-cpus-fast")
        try:
            balloon = qmp.execute("query-balloon")
        except QmpCommandError:  # no balloon device
            balloon = None
        blockstats = qmp.execute("query-blockstats")
    cpu_times = tuple(_thread_cpu_ns(pid, cpu.get("thread-id")) for cpu in sorted(cpus, key=lambda cpu: cpu.get("cpu-index", 0)))
    memory = int(balloon["actual"]) // MIB if isinstance(balloon, dict) and "actual" in balloon else None
    disks_seen = tuple(
        _disk_stats(entry["stats"]) for entry in blockstats if entry.get("stats") and (entry.get("qdev") or entry.get("device"))
    )
    return GuestStatistics(cpu_times, memory, disks_seen)


def _thread_cpu_ns(pid: int, thread_id: object) -> int:
    """User + system time of one QEMU thread (a vCPU), in nanoseconds; 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/task/{int(str(thread_id))}/stat").read_text()
    except (OSError, ValueError):
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _disk_stats(stats: dict) -> DiskStats:
    return DiskStats(
        read_bytes=int(stats.get("rd_bytes", 0)),
        read_requests=int(stats.get("rd_operations", 0)),
        write_bytes=int(stats.get("wr_bytes", 0)),
        write_requests=int(stats.get("wr_operations", 0)),
        errors=int(stats.get("failed_rd_operations", 0)) + int(stats.get("failed_wr_operations", 0)),
    )


def reset_guest(files: InstanceFiles, status: str) -> bool:
    """A hard reboot in place; False when QEMU did not take it."""
    try:
        with QmpSession(files.qmp_socket) as qmp:
            qmp.execute("system_reset")
            if status != "running":
                qmp.execute("cont")
    except QmpError as error:
        log.warning("guest %s: system_reset failed (%s); starting it again", files.server_id, error)
        return False
    return True


def save_memory(files: InstanceFiles, memory_mb: int) -> None:
    """Write the guest's memory and device state to memory.state (whole, or not at all)."""
    was_running = query_status(files) == "running"
    partial = files.saved_state_partial
    with QmpSession(files.qmp_socket) as qmp:
        if was_running:
            qmp.execute("stop")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            qmp.pass_fd(fd, "memory-state")
        finally:
            os.close(fd)
        qmp.execute("migrate-set-parameters", {"max-bandwidth": MIGRATION_MAX_BANDWIDTH})
        qmp.execute("migrate", {"uri": "fd:memory-state"})
    timeout = 60 + memory_mb / SAVE_RATE_MB_S
    deadline = time.monotonic() + timeout
    while (migration := qmp_execute(files.qmp_socket, "query-migrate")).get("status") not in ("completed", "failed", "cancelled"):
        if time.monotonic() >= deadline:
            with contextlib.suppress(QmpError):
                qmp_execute(files.qmp_socket, "migrate_cancel")
            migration = {"status": "failed", "error-desc": f"not done within {timeout:g} s"}
            break
        time.sleep(0.05)
    if migration["status"] != "completed":
        partial.unlink(missing_ok=True)
        if was_running:
            with contextlib.suppress(QmpError):
                qmp_execute(files.qmp_socket, "cont")
        raise DriverError(f"saving the guest's memory failed: {migration.get('error-desc', migration['status'])}")
    with partial.open("rb") as state:
        os.fsync(state.fileno())
    os.replace(partial, files.saved_state)


def back_up_running_disk(files: InstanceFiles, disk_format: str, dest: Path) -> None:
    """A point-in-time standalone copy of the running guest's root disk (blockdev-backup, sync=full)."""
    size = disks.virtual_size(files.disk, disk_format)
    temp = dest.with_name(f".{dest.name}.part")
    job, node = f"snapshot-{uuid.uuid4().hex[:8]}", f"snapshot-{uuid.uuid4().hex[:8]}"
    disks.qemu_img("create", "-q", "-f", "qcow2", str(temp), str(size))
    try:
        with QmpSession(files.qmp_socket) as qmp:
            qmp.execute("blockdev-add", {"driver": "qcow2", "node-name": node, "file": {"driver": "file", "filename": str(temp)}})
            try:
                qmp.execute("blockdev-backup", {"job-id": job, "device": "root", "target": node, "sync": "full", "auto-dismiss": False})
            except QmpError:
                qmp.execute("blockdev-del", {"node-name": node})
                raise
        try:
            _wait_for_job(files, job, timeout=60 + size / (SAVE_RATE_MB_S * MIB))
        finally:
            with QmpSession(files.qmp_socket) as qmp:
                with contextlib.suppress(QmpCommandError):
                    qmp.execute("job-dismiss", {"id": job})
                qmp.execute("blockdev-del", {"node-name": node})
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)


def _wait_for_job(files: InstanceFiles, job: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        jobs = {entry["id"]: entry for entry in qmp_execute(files.qmp_socket, "query-jobs")}
        info = jobs.get(job)
        if info is None:
            raise DriverError("the snapshot job vanished")
        if info["status"] == "concluded":
            if info.get("error"):
                raise DriverError(f"the snapshot failed: {info['error']}")
            return
        if time.monotonic() >= deadline:
            with contextlib.suppress(QmpError):
                qmp_execute(files.qmp_socket, "job-cancel", {"id": job})
                _wait_cancelled(files, job)
            raise DriverError(f"the snapshot did not finish within {timeout:g} s")
        time.sleep(0.05)


def _wait_cancelled(files: InstanceFiles, job: str) -> None:
    for _ in range(200):
        jobs = {entry["id"]: entry["status"] for entry in qmp_execute(files.qmp_socket, "query-jobs")}
        if jobs.get(job) in (None, "concluded"):
            return
        time.sleep(0.05)


def _remove_leftovers(files: InstanceFiles) -> None:
    """What a stopped QEMU leaves behind: its sockets, and the pidfile when it was killed."""
    for path in (files.qmp_socket, files.vnc_socket, files.pidfile):
        path.unlink(missing_ok=True)
