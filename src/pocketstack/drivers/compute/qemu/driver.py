"""The QEMU compute driver: one daemonized qemu-system-x86_64 per guest, driven through QMP.

How it works (measured on the project's 2-core TCG machine, QEMU 7.2):
- spawn makes the disks (qcow2 overlay on the image, grown to the flavor's root size),
  the config drive, and starts QEMU with -daemonize: qemu returns in ~0.05 s once the guest
  is set up, and TCG takes ~6 s more to the guest's user space.
- power operations go through QMP, not signals: system_powerdown (ACPI, pressed again every
  few seconds since a guest may miss a press that comes before its acpid runs), quit, then
  SIGKILL by pid only when the monitor does not answer. A guest that powers itself off ends
  its QEMU (no -no-shutdown), so a missing process is SHUTDOWN whoever stopped it.
- suspend saves memory like libvirt's managed save: QMP stop, the state file's descriptor is
  handed to QEMU (getfd over SCM_RIGHTS) and ``migrate fd:``; completion means every byte is in
  the file (128 MB guest: 0.05 s with the bandwidth cap lifted, 0.7 s with QEMU's default cap).
  An ``exec:cat > file`` URI was rejected: when the migration ends QEMU closes the pipe and at
  once SIGTERMs a `cat` that has not exited yet, which can drop the stream's tail. QEMU 7.2 has
  no ``file:`` URI (8.2+). Resume starts QEMU with ``-incoming fd:N`` on the file, then ``cont``.
- a snapshot of a running guest is a QMP blockdev-backup job (sync=full) into a new qcow2: a
  point-in-time copy of what the guest sees, taken while it keeps running (0.1 s for the 17 MB
  test disk). ``qemu-img convert -U`` on the live overlay was measured to be WRONG: QEMU caches
  qcow2 metadata, so the reader saw a file system without the guest's last writes. Pausing
  first (stop flushes) would fix that but freezes the guest for the whole copy. A stopped guest
  is copied with plain qemu-img convert.
- NICs are hot-plugged and unplugged through QMP on the root PCI bus (ACPI hotplug of
  ``-machine pc``; see nics.py). guest.json follows: it lists the NICs the running QEMU has,
  and once they changed, their PCI slots, because a suspended guest's saved memory can
  only be restored into a QEMU with every device in the slot it had.
- list_guests scans the instances directory, so guests started before an agent restart are
  found again (process by pidfile, state by QMP query-status).

Calls block; the agent calls them from worker threads. Calls for one guest are serialized by a
per-guest lock; different guests proceed in parallel. One agent per host owns the directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from pocketstack.drivers.compute.accel import (
    QEMU_BINARY,
    Acceleration,
    host_key,
    kvm_device_problem,
    probe_acceleration,
    read_cached_verdict,
)
from pocketstack.drivers.compute.base import (
    BootImage,
    DriverError,
    GuestDiagnostics,
    GuestNotFound,
    GuestSpec,
    HostResources,
    Nic,
    PowerState,
)
from pocketstack.drivers.compute.configdrive import write_config_drive
from pocketstack.drivers.compute.qemu import console, disks
from pocketstack.drivers.compute.qemu.argv import Disk, LaunchPlan, checked_mac, nic_device_id, qemu_command
from pocketstack.drivers.compute.qemu.host import cpu_info, meminfo_total_mb, parse_qemu_version
from pocketstack.drivers.compute.qemu.layout import (
    RESIZED_FILES,
    GuestRecord,
    InstanceFiles,
    boot_image_from_json,
    boot_image_to_json,
    read_record,
    write_atomically,
    write_record,
)
from pocketstack.drivers.compute.qemu.monitor import (
    KILL_WAIT_S,
    MIGRATING,
    QEMU_STATUS,
    RESETTABLE,
    SAVE_RATE_MB_S,
    back_up_running_disk,
    guest_statistics,
    query_status,
    reset_guest,
    save_memory,
    stop_guest,
    wait_for_restore,
)
from pocketstack.drivers.compute.qemu.nics import nic_slots, plug_nic, unplug_nic
from pocketstack.drivers.compute.qemu.process import guest_pid, is_guest_process, kill_guest_process, last_qemu_error, wait_for_exit
from pocketstack.drivers.compute.qmp import QmpError, qmp_execute
from pocketstack.drivers.compute.spec_checks import check_spec, is_server_id

log = logging.getLogger(__name__)

GIB, MIB = disks.GIB, disks.MIB
LAUNCH_TIMEOUT_S = 60.0  # qemu -daemonize returns once set up: well under a second normally
QEMU_LOG_LIMIT = 256 << 10


class QemuDriver:
    """Real guests under qemu-system-x86_64 (KVM when a probe boot proved it works, else TCG).

    instances_dir  one directory per guest (see layout.py).
    cache_dir      the accelerator verdict (accel.json) and, when KVM must be probed and no
                   `probe_image` is given, the test guest image built for that probe.
    use_cow        root disks as qcow2 overlays on the image (fast, shares the base), or raw copies.
    qemu           the qemu-system-x86_64 binary.
    probe_image    a bootable test guest for the KVM probe (guest.build_test_image makes one).
    console_log_bytes   how much serial console each guest keeps (between 1x and 2x this).
    shutdown_timeout    seconds a guest gets to shut down cleanly when a soft reboot, rescue
                        or resize stops it (power_off takes its own timeout).
    """

    def __init__(
        self,
        instances_dir: Path,
        *,
        cache_dir: Path,
        use_cow: bool = True,
        qemu: str = QEMU_BINARY,
        probe_image: Path | None = None,
        console_log_bytes: int = 1 << 20,
        shutdown_timeout: float = 60.0,
    ) -> None:
        self.instances_dir = Path(instances_dir).absolute()
        self.cache_dir = Path(cache_dir).absolute()
        self.use_cow = use_cow
        self.qemu = qemu
        self.probe_image = probe_image
        self.console_log_bytes = console_log_bytes
        self.shutdown_timeout = shutdown_timeout
        self.instances_dir.mkdir(parents=True, exist_ok=True)
        self._acceleration: Acceleration | None = None
        self._acceleration_lock = threading.Lock()
        self._qemu_version: int | None = None
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()

    # ---- host -----------------------------------------------------------------------------

    def host_resources(self) -> HostResources:
        acceleration = self.acceleration()
        disk = os.statvfs(self.instances_dir)
        return HostResources(
            hypervisor_type="QEMU",
            hypervisor_version=self.qemu_version(),
            vcpus=os.cpu_count() or 1,
            memory_mb=meminfo_total_mb(),
            local_gb=disk.f_blocks * disk.f_frsize // GIB,
            cpu_info=cpu_info(acceleration),
            accelerator=f"{acceleration.kind}: {acceleration.reason}",
        )

    def acceleration(self) -> Acceleration:
        """KVM or TCG: decided once per driver (and cached on disk per host boot, see accel.py)."""
        with self._acceleration_lock:
            if self._acceleration is None:
                self._acceleration = self._probe_acceleration()
                log.info("QEMU accelerator: %s (%s)", self._acceleration.kind, self._acceleration.reason)
            return self._acceleration

    def _probe_acceleration(self) -> Acceleration:
        cache_file = self.cache_dir / "accel.json"
        cached = read_cached_verdict(cache_file, host_key(self.qemu))
        if cached is not None:
            return cached
        image = self.probe_image
        if image is None and kvm_device_problem() is None:
            from pocketstack.guest import GuestImageError, build_test_image  # only a KVM host ever needs it

            try:
                image = build_test_image(self.cache_dir / "test-guest")
            except GuestImageError as error:  # not cached: the next driver tries again
                return Acceleration("tcg", f"KVM not probed: no test guest image ({error})")
        # without a usable /dev/kvm the probe decides before it would need the image
        return probe_acceleration(
            image or self.cache_dir / "no-probe-image", self.cache_dir / "accel-probe", cache_file=cache_file, qemu=self.qemu
        )

    def qemu_version(self) -> int:
        """Nova's integer form of QEMU's version: 7.2.22 -> 7002022."""
        if self._qemu_version is None:
            output = disks.run([self.qemu, "--version"], timeout=30)
            self._qemu_version = parse_qemu_version(output)
        return self._qemu_version

    # ---- state ----------------------------------------------------------------------------

    def list_guests(self) -> dict[str, PowerState]:
        guests = {}
        for entry in sorted(os.scandir(self.instances_dir), key=lambda entry: entry.name):
            if not entry.is_dir(follow_symlinks=False) or not is_server_id(entry.name):
                continue
            files = InstanceFiles(Path(entry.path))
            self._rotate_console_if_idle(files)
            state = self._observe(files)
            if state is not PowerState.NOSTATE:  # removed while we looked
                guests[entry.name] = state
        return guests

    def power_state(self, server_id: str) -> PowerState:
        if not is_server_id(server_id):
            return PowerState.NOSTATE
        return self._observe(self._files(server_id))

    def console_output(self, server_id: str, length: int | None = None) -> str:
        files = self._files(server_id)
        if not files.directory.is_dir():
            raise GuestNotFound(f"guest {server_id} is not on this host")
        self._rotate_console_if_idle(files)
        return console.tail(files, length, max_bytes=2 * self.console_log_bytes)

    def vnc_socket(self, server_id: str) -> Path | None:
        files = self._files(server_id)
        if not files.directory.is_dir():
            raise GuestNotFound(f"guest {server_id} is not on this host")
        if self._pid(files) is None or not files.vnc_socket.exists():
            return None
        return files.vnc_socket

    def diagnostics(self, server_id: str) -> GuestDiagnostics:
        files = self._files(server_id)
        if not files.directory.is_dir():
            raise GuestNotFound(f"guest {server_id} is not on this host")
        state = self._observe(files)
        # Nova's libvirt names the acceleration as its virt_type: "kvm", or "qemu" for TCG
        hypervisor = "kvm" if self.acceleration().kind == "kvm" else "qemu"
        pid = self._pid(files)
        if pid is None or state in (PowerState.SHUTDOWN, PowerState.SUSPENDED, PowerState.NOSTATE):
            return GuestDiagnostics(state, hypervisor)
        try:
            stats = guest_statistics(files, pid)
        except QmpError as error:  # busy or going away: its state is all there is to tell
            log.info("guest %s: no statistics (%s)", server_id, error)
            return GuestDiagnostics(state, hypervisor)
        return GuestDiagnostics(state, hypervisor, stats.cpu_times_ns, stats.memory_mb, stats.disks)

    # ---- lifecycle ------------------------------------------------------------------------

    def spawn(self, spec: GuestSpec) -> None:
        check_spec(spec)
        with self._guest(spec.server_id) as files:
            if self._pid(files) is not None:
                return
            files.directory.mkdir(mode=0o700, exist_ok=True)
            previous = read_record(files.record)
            if files.saved_state.exists() and previous is not None:  # a spawn must not throw away saved memory
                self._boot(files, previous)
                return
            root_format = previous.root_format if previous is not None and files.disk.exists() else self._new_root_format()
            record = GuestRecord(spec, root_format)
            write_record(files.record, record)
            self._prepare_disks(files, spec, root_format)
            self._boot(files, record)

    def destroy(self, server_id: str) -> None:
        if not is_server_id(server_id):
            return
        with self._guest(server_id) as files:
            pid = self._pid(files)
            if pid is not None:
                stop_guest(files, pid, timeout=0)
            if files.directory.exists():
                shutil.rmtree(files.directory)
        with self._locks_guard:
            self._locks.pop(server_id, None)

    def power_off(self, server_id: str, timeout: float = 60.0) -> None:
        with self._guest(server_id) as files:
            self._record(files)
            pid = self._pid(files)
            if pid is not None:
                stop_guest(files, pid, timeout=timeout)

    def power_on(self, spec: GuestSpec) -> None:
        check_spec(spec)
        with self._guest(spec.server_id) as files:
            record = self._record(files)
            if self._pid(files) is not None:
                return
            if not files.saved_state.exists():  # a saved guest comes back exactly as it was saved
                record = self._update_record(files, spec, record)
            self._boot(files, record)

    def reboot(self, spec: GuestSpec, hard: bool) -> None:
        check_spec(spec)
        with self._guest(spec.server_id) as files:
            record = self._record(files)
            pid = self._pid(files)
            if pid is not None:
                status = query_status(files)
                if hard or status != "running":  # a paused or crashed guest cannot react to ACPI
                    # a reset keeps QEMU's devices: fine unless the spec changed (as Nova, it then starts anew)
                    if _same_machine(record.spec, spec) and status in RESETTABLE and reset_guest(files, status):
                        return
                    stop_guest(files, pid, timeout=0)
                else:
                    stop_guest(files, pid, timeout=self.shutdown_timeout)  # falls back to quit / kill
            if hard:
                files.saved_state.unlink(missing_ok=True)  # as libvirt: a hard reboot drops a managed save
            if not files.saved_state.exists():
                record = self._update_record(files, spec, record)
            self._boot(files, record)

    def pause(self, server_id: str) -> None:
        with self._guest(server_id) as files:
            status = self._running_status(files, "pause")
            if status == "running":
                qmp_execute(files.qmp_socket, "stop")
            elif QEMU_STATUS.get(status) is not PowerState.PAUSED:
                raise DriverError(f"cannot pause a guest that is {status}")

    def unpause(self, server_id: str) -> None:
        with self._guest(server_id) as files:
            status = self._running_status(files, "unpause")
            if status in ("paused", "prelaunch"):
                qmp_execute(files.qmp_socket, "cont")
            elif status != "running":
                raise DriverError(f"cannot unpause a guest that is {status}")

    def suspend(self, server_id: str) -> None:
        with self._guest(server_id) as files:
            record = self._record(files)
            pid = self._pid(files)
            if pid is None:
                if files.saved_state.exists():
                    return
                raise DriverError("cannot suspend a guest that is not running")
            if not files.saved_state.exists():  # else: saved before a crash, only the quit is left
                save_memory(files, record.spec.memory_mb)
            stop_guest(files, pid, timeout=0)

    def resume(self, spec: GuestSpec) -> None:
        with self._guest(spec.server_id) as files:
            record = self._record(files)
            pid = self._pid(files)
            if pid is not None:
                status = query_status(files)
                if status == "postmigrate" and files.saved_state.exists():  # saved, but not stopped yet
                    stop_guest(files, pid, timeout=0)
                else:
                    if status in ("paused", "prelaunch"):
                        qmp_execute(files.qmp_socket, "cont")
                    files.saved_state.unlink(missing_ok=True)  # restored before a crash: it was used
                    return
            if not files.saved_state.exists():
                raise DriverError("the guest has no saved state to resume from")
            self._boot(files, record)

    def snapshot(self, server_id: str, dest: Path) -> str:
        dest = Path(dest)
        with self._guest(server_id) as files:
            record = self._record(files)
            pid = self._pid(files)
            if pid is not None and query_status(files) not in (None, "postmigrate", "inmigrate"):
                back_up_running_disk(files, record.root_format, dest)
            else:
                disks.convert_standalone(files.disk, record.root_format, dest)
            return "qcow2"

    # ---- NICs ------------------------------------------------------------------------------

    def attached_nics(self, server_id: str) -> tuple[Nic, ...]:
        # neither the lock nor QMP: the agent asks for every guest on every pass, and another
        # operation may hold the lock for long; guest.json is replaced whole, never half-written
        if not is_server_id(server_id):
            return ()
        files = InstanceFiles(self.instances_dir / server_id)
        if self._pid(files) is None:
            return ()
        try:
            record = read_record(files.record)
        except ValueError as error:
            raise DriverError(f"guest {server_id}: unreadable record ({error})") from error
        return record.spec.nics if record is not None else ()

    def attach_nic(self, server_id: str, nic: Nic) -> None:
        checked_mac(nic)
        with self._guest(server_id) as files:
            record = self._record(files)
            status = self._running_status(files, "attach a NIC to")
            if status in MIGRATING:
                raise DriverError(f"cannot attach a NIC to a guest that is {status}")
            slots = plug_nic(files, nic)
            known = any(listed.tap == nic.tap for listed in record.spec.nics)  # it describes what is plugged
            self._write_nics(files, record, record.spec.nics if known else (*record.spec.nics, nic), slots)

    def detach_nic(self, server_id: str, tap: str) -> bool:
        with self._guest(server_id) as files:
            record = read_record(files.record)
            if record is None:
                return True  # no guest: nothing holds the NIC
            if self._pid(files) is not None:
                if not unplug_nic(files, tap):
                    return False
                slots = nic_slots(files)
            elif files.saved_state.exists():
                # the record must keep describing the saved machine, or it cannot be restored;
                # resumed, the guest lists the NIC again and the agent unplugs it then
                return True
            else:
                slots = {nic_device_id(nic_tap): slot for nic_tap, slot in record.nic_slots.items()}
            self._write_nics(files, record, tuple(nic for nic in record.spec.nics if nic.tap != tap), slots)
            return True

    # ---- rescue and resize ----------------------------------------------------------------

    def rescue(self, spec: GuestSpec, rescue_image: BootImage) -> None:
        check_spec(spec)
        with self._guest(spec.server_id) as files:
            record = self._record(files)
            pid = self._pid(files)
            rescued = files.rescue_record.exists()
            if rescued and pid is not None:
                return
            if pid is not None:
                stop_guest(files, pid, timeout=self.shutdown_timeout)
            files.saved_state.unlink(missing_ok=True)  # memory saved with the other disk layout is void
            if not rescued:
                rescue_format = disks.create_root_disk(rescue_image, files.rescue_disk, use_cow=self.use_cow)
                document = {"image": boot_image_to_json(rescue_image), "disk_format": rescue_format}
                write_atomically(files.rescue_record, _json_bytes(document))
            self._boot(files, self._update_record(files, spec, record))

    def unrescue(self, spec: GuestSpec) -> None:
        check_spec(spec)
        with self._guest(spec.server_id) as files:
            record = self._record(files)
            pid = self._pid(files)
            if not files.rescue_record.exists() and pid is not None:
                return
            if pid is not None:
                stop_guest(files, pid, timeout=0)  # the rescue system's state is not worth waiting for
            files.saved_state.unlink(missing_ok=True)
            files.rescue_record.unlink(missing_ok=True)
            files.rescue_disk.unlink(missing_ok=True)
            self._boot(files, self._update_record(files, spec, record))

    def resize(self, spec: GuestSpec) -> None:
        check_spec(spec)
        with self._guest(spec.server_id) as files:
            record = self._record(files)
            self._refuse_shrinking(files, record, spec)  # before anything changes, as Nova checks
            pid = self._pid(files)
            if pid is not None:
                stop_guest(files, pid, timeout=self.shutdown_timeout)
            if not files.resize_backup.exists():
                self._back_up_for_resize(files)
            files.saved_state.unlink(missing_ok=True)
            write_record(files.record, GuestRecord(spec, record.root_format))
            if spec.root_gb:
                disks.grow(files.disk, record.root_format, spec.root_gb * GIB)
            if spec.ephemeral_gb and files.ephemeral.exists():
                disks.grow(files.ephemeral, "qcow2", spec.ephemeral_gb * GIB)
            if files.swap.exists() and disks.virtual_size(files.swap, "qcow2") != spec.swap_mb * MIB:
                files.swap.unlink()  # swap holds nothing worth keeping: made again at the new size
            self._prepare_disks(files, spec, record.root_format)

    def confirm_resize(self, server_id: str) -> None:
        with self._guest(server_id) as files:
            self._record(files)
            if files.resize_backup.exists():
                shutil.rmtree(files.resize_backup)

    def revert_resize(self, spec: GuestSpec) -> None:
        check_spec(spec)
        with self._guest(spec.server_id) as files:
            record = self._record(files)
            pid = self._pid(files)
            if pid is not None:
                stop_guest(files, pid, timeout=0)
            backup = InstanceFiles(files.resize_backup)
            if not backup.directory.exists():
                return
            files.saved_state.unlink(missing_ok=True)
            backed_up = _read_json(backup.directory / "manifest.json")["files"]
            for name in RESIZED_FILES:
                source, target = getattr(backup, name), getattr(files, name)
                if source.exists():
                    os.replace(source, target)
                elif name not in backed_up:  # made by the resize (e.g. a new ephemeral disk)
                    target.unlink(missing_ok=True)
            restored = read_record(files.record) or record
            write_record(files.record, GuestRecord(spec, restored.root_format))
            shutil.rmtree(backup.directory)

    # ---- internals: files and records -----------------------------------------------------

    def _files(self, server_id: str) -> InstanceFiles:
        if not is_server_id(server_id):
            raise GuestNotFound(f"no guest {server_id!r}: server ids are UUIDs")
        return InstanceFiles(self.instances_dir / server_id)

    def _record(self, files: InstanceFiles) -> GuestRecord:
        record = read_record(files.record)
        if record is None:
            raise GuestNotFound(f"guest {files.server_id} is not on this host")
        return record

    def _update_record(self, files: InstanceFiles, spec: GuestSpec, record: GuestRecord) -> GuestRecord:
        """The agent's spec is the truth (memory, CPUs, NICs may have changed); the disks stay."""
        updated = GuestRecord(spec, record.root_format)
        write_record(files.record, updated)
        self._prepare_disks(files, spec, record.root_format)
        return updated

    def _write_nics(self, files: InstanceFiles, record: GuestRecord, nics: tuple[Nic, ...], device_slots: Mapping[str, int]) -> None:
        """The record with these NICs, each pinned to the PCI slot of its device (device id -> slot)."""
        pinned = {nic.tap: device_slots[nic_device_id(nic.tap)] for nic in nics if nic_device_id(nic.tap) in device_slots}
        updated = GuestRecord(dataclasses.replace(record.spec, nics=nics), record.root_format, pinned)
        if updated != record:
            write_record(files.record, updated)

    def _new_root_format(self) -> str:
        return "qcow2" if self.use_cow else "raw"

    @contextlib.contextmanager
    def _guest(self, server_id: str) -> Iterator[InstanceFiles]:
        """The guest's files, with its lock held; monitor and file errors become DriverError."""
        files = self._files(server_id)
        with self._locks_guard:
            lock = self._locks.setdefault(server_id, threading.RLock())
        with lock:
            try:
                yield files
            except QmpError as error:
                raise DriverError(f"QEMU monitor of guest {server_id}: {error}") from error
            except OSError as error:
                raise DriverError(f"guest {server_id}: {error.strerror or error}") from error
            except ValueError as error:  # a damaged guest.json or rescue.json
                raise DriverError(f"guest {server_id}: unreadable record ({error})") from error

    def _prepare_disks(self, files: InstanceFiles, spec: GuestSpec, root_format: str) -> None:
        """Make whatever of the guest's disks is missing (each appears whole or not at all)."""
        if not files.disk.exists():
            image_size = disks.virtual_size(spec.image.path, spec.image.disk_format)
            if spec.root_gb and image_size > spec.root_gb * GIB:
                raise DriverError(
                    f"the image's virtual size ({image_size} bytes) is larger than the flavor's root disk ({spec.root_gb} GiB)"
                )
            made_format = disks.create_root_disk(spec.image, files.disk, use_cow=root_format == "qcow2")
            if spec.root_gb:
                disks.grow(files.disk, made_format, spec.root_gb * GIB)
        if spec.ephemeral_gb and not files.ephemeral.exists():
            disks.create_blank_disk(files.ephemeral, spec.ephemeral_gb * GIB, "ext4", disks.EPHEMERAL_LABEL)
        if spec.swap_mb and not files.swap.exists():
            disks.create_blank_disk(files.swap, spec.swap_mb * MIB, "swap")
        if spec.config_drive is not None and not files.config_drive.exists():
            write_config_drive(files.config_drive, spec.config_drive)

    def _launch_plan(self, files: InstanceFiles, record: GuestRecord, incoming_fd: int | None) -> LaunchPlan:
        spec = record.spec
        guest_disks = [Disk("root", files.disk, record.root_format)]
        kernel_image = spec.image
        rescue = _read_json(files.rescue_record) if files.rescue_record.exists() else None
        if rescue is not None:  # as Nova: the rescue disk boots, the guest's own disk is the second
            guest_disks.insert(0, Disk("rescue", files.rescue_disk, rescue["disk_format"]))
            kernel_image = boot_image_from_json(rescue["image"])
        else:
            if spec.ephemeral_gb:
                guest_disks.append(Disk("ephemeral0", files.ephemeral, "qcow2"))
            if spec.swap_mb:
                guest_disks.append(Disk("swap", files.swap, "qcow2"))
        return LaunchPlan(
            spec=spec,
            disks=tuple(guest_disks),
            config_drive=files.config_drive if files.config_drive.exists() else None,
            kernel_image=kernel_image,
            incoming_fd=incoming_fd,
            nic_slots=record.nic_slots,
        )

    # ---- internals: the QEMU process ------------------------------------------------------

    def _pid(self, files: InstanceFiles) -> int | None:
        return guest_pid(files.pidfile, files.server_id)

    def _running_status(self, files: InstanceFiles, operation: str) -> str:
        self._record(files)
        status = query_status(files) if self._pid(files) is not None else None
        if status is None:
            raise DriverError(f"cannot {operation} a guest that is not running")
        return status

    def _observe(self, files: InstanceFiles) -> PowerState:
        if not files.directory.is_dir():
            return PowerState.NOSTATE
        pid = self._pid(files)
        if pid is not None:
            status = query_status(files)
            if status is not None:
                state = QEMU_STATUS.get(status, PowerState.NOSTATE)
                if status == "postmigrate" and files.saved_state.exists():
                    return PowerState.SUSPENDED
                return state
            if is_guest_process(pid, files.server_id):  # alive but its monitor is busy or stuck
                log.warning("guest %s: QEMU %d does not answer on its monitor", files.server_id, pid)
                return PowerState.RUNNING
        if not files.directory.is_dir():
            return PowerState.NOSTATE
        return PowerState.SUSPENDED if files.saved_state.exists() else PowerState.SHUTDOWN

    def _boot(self, files: InstanceFiles, record: GuestRecord) -> None:
        """Start QEMU: from the saved memory when there is some (then it runs on), else a cold boot."""
        if not files.saved_state.exists():
            self._launch(files, record)
            return
        state = os.open(files.saved_state, os.O_RDONLY | os.O_CLOEXEC)
        try:
            pid = self._launch(files, record, incoming_fd=state)
        finally:
            os.close(state)
        wait_for_restore(files, pid, timeout=60 + record.spec.memory_mb / SAVE_RATE_MB_S)
        qmp_execute(files.qmp_socket, "cont")
        files.saved_state.unlink()

    def _launch(self, files: InstanceFiles, record: GuestRecord, incoming_fd: int | None = None) -> int:
        argv = qemu_command(self.qemu, self._launch_plan(files, record, incoming_fd), files, self.acceleration())
        for stale in (files.qmp_socket, files.vnc_socket):
            stale.unlink(missing_ok=True)
        if console.needs_rotation(files, self.console_log_bytes):
            console.rotate(files, reopen=None)
        _trim_log(files.qemu_log)
        with files.qemu_log.open("ab") as qemu_log:
            qemu_log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} start: {shlex.join(argv)}\n".encode())
            qemu_log.flush()
            try:
                done = subprocess.run(
                    argv,
                    cwd=files.directory,  # where the relative socket paths are bound
                    stdin=subprocess.DEVNULL,
                    stdout=qemu_log,
                    stderr=qemu_log,
                    pass_fds=(incoming_fd,) if incoming_fd is not None else (),
                    start_new_session=True,
                    timeout=LAUNCH_TIMEOUT_S,
                )
            except subprocess.TimeoutExpired:
                self._kill_leftover(files)
                raise DriverError(f"QEMU did not start within {LAUNCH_TIMEOUT_S:g} s") from None
        if done.returncode != 0:
            raise DriverError(f"QEMU failed to start: {last_qemu_error(files.qemu_log)}")
        pid = self._pid(files)
        if pid is None:
            raise DriverError(f"QEMU started but exited at once: {last_qemu_error(files.qemu_log)}")
        return pid

    def _kill_leftover(self, files: InstanceFiles) -> None:
        pid = self._pid(files)
        if pid is not None:
            kill_guest_process(pid, files.server_id)
            wait_for_exit(pid, files.server_id, KILL_WAIT_S)

    def _rotate_console_if_idle(self, files: InstanceFiles) -> None:
        """Rotate the console log if it is over its limit and no operation holds the guest."""
        if not console.needs_rotation(files, self.console_log_bytes):
            return
        with self._locks_guard:
            lock = self._locks.setdefault(files.server_id, threading.RLock())
        if not lock.acquire(blocking=False):
            return  # an operation runs; the next look rotates
        try:
            running = self._pid(files) is not None
            reopen = (lambda arguments: qmp_execute(files.qmp_socket, "chardev-change", arguments)) if running else None
            console.rotate(files, reopen)
        except (QmpError, OSError) as error:
            log.warning("guest %s: console log rotation failed: %s", files.server_id, error)
        finally:
            lock.release()

    def _refuse_shrinking(self, files: InstanceFiles, record: GuestRecord, spec: GuestSpec) -> None:
        root_size = disks.virtual_size(files.disk, record.root_format)
        if spec.root_gb and spec.root_gb * GIB < root_size:
            raise DriverError(f"cannot resize the root disk down to {spec.root_gb} GiB: it holds {root_size} bytes")
        if files.ephemeral.exists() and spec.ephemeral_gb * GIB < disks.virtual_size(files.ephemeral, "qcow2"):
            raise DriverError(f"cannot resize the ephemeral disk down to {spec.ephemeral_gb} GiB")

    def _back_up_for_resize(self, files: InstanceFiles) -> None:
        """Copies of what a resize changes, put in place with one rename (so it is whole or absent)."""
        partial = files.directory / ".resize-backup.part"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        backup = InstanceFiles(partial)
        saved = []
        for name in RESIZED_FILES:
            source = getattr(files, name)
            if source.exists():
                disks.copy_disk(source, getattr(backup, name))
                saved.append(name)
        write_atomically(partial / "manifest.json", _json_bytes({"files": saved}))
        os.replace(partial, files.resize_backup)


# ---- helpers ----------------------------------------------------------------------------------


def _same_machine(recorded: GuestSpec, wanted: GuestSpec) -> bool:
    """Whether `wanted` would start the same QEMU as `recorded` (the config drive is made once)."""
    return recorded == dataclasses.replace(wanted, config_drive=None, extra=dict(wanted.extra))


def _trim_log(path: Path) -> None:
    """qemu.log gets a line per start: keep its last part once it grows big (no QEMU writes it now)."""
    try:
        if path.stat().st_size <= QEMU_LOG_LIMIT:
            return
        with path.open("rb") as file:
            file.seek(-QEMU_LOG_LIMIT // 2, os.SEEK_END)
            tail = file.read()
        write_atomically(path, tail)
    except FileNotFoundError:
        pass


def _json_bytes(document: Mapping) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"


def _read_json(path: Path) -> dict:
    return json.loads(path.read_bytes())
