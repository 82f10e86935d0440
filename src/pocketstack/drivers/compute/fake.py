"""The fake hypervisor: guests that exist only in memory, for API tests and scale benchmarks.

It keeps the QEMU driver's contract (base.py): the same state after each operation, the same
idempotence (repeating an operation that is done changes nothing), GuestNotFound and
DriverError where the real driver raises them, and the same spec checks. It never sleeps
unless told to and needs no root, QEMU or disk space (a snapshot writes a 1 MiB file).

Knobs for tests that want to see transitions or failures:
  spawn_delay        seconds spawn() takes (a worker thread blocks that long; the API meanwhile
                     shows the server in BUILD). Other calls are not delayed.
  fail_spawn_prefix  a guest whose *name* starts with this fails to spawn with DriverError and
                     leaves nothing behind (default "fake-fail-"; None: never).
The console log of a guest gets a line per event ("fake: booted", "fake: paused", ...), so
tests of os-getConsoleOutput see something that changes with the guest's life.
It is thread-safe: one lock guards all guests (no call holds it while sleeping).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from pocketstack.drivers.compute.base import (
    BootImage,
    DiskStats,
    DriverError,
    GuestDiagnostics,
    GuestNotFound,
    GuestSpec,
    HostResources,
    Nic,
    PowerState,
)
from pocketstack.drivers.compute.spec_checks import check_spec, is_server_id

CONSOLE_LINES = 1000  # kept per guest, oldest dropped first
SNAPSHOT_SIZE = 1 << 20
FAKE_VERSION = 1000  # what Nova's own fake driver reports


@dataclass
class FakeGuest:
    spec: GuestSpec
    state: PowerState = PowerState.RUNNING
    root_bytes: int = 0  # the disks as they are, whatever later specs say (only resize grows them)
    ephemeral_bytes: int = 0
    rescued_with: BootImage | None = None
    pre_resize: GuestSpec | None = None  # kept until confirm_resize / revert_resize
    console: deque[str] = field(default_factory=lambda: deque(maxlen=CONSOLE_LINES))

    def log(self, event: str) -> None:
        self.console.append(f"fake: {event}")

    def boot(self) -> None:
        self.state = PowerState.RUNNING
        self.log("booted")
        self.log(f"hostname={self.spec.name}")
        if self.spec.config_drive is not None:
            self.log(f"config-drive files={len(self.spec.config_drive)}")
        self.log("ready")


class FakeDriver:
    """Guests in a dict; see the module docstring for the knobs."""

    def __init__(self, *, spawn_delay: float = 0.0, fail_spawn_prefix: str | None = "fake-fail-") -> None:
        self.spawn_delay = spawn_delay
        self.fail_spawn_prefix = fail_spawn_prefix
        self._guests: dict[str, FakeGuest] = {}
        self._lock = threading.Lock()

    # ---- host and state -------------------------------------------------------------------

    def host_resources(self) -> HostResources:
        return HostResources(
            hypervisor_type="fake",
            hypervisor_version=FAKE_VERSION,
            vcpus=1000,
            memory_mb=1024 * 1024,  # 1 TiB
            local_gb=10 * 1024,  # 10 TiB
            cpu_info={
                "arch": "x86_64",
                "model": "fake",
                "vendor": "fake",
                "topology": {"sockets": 1, "cores": 1000, "threads": 1},
                "features": [],
            },
            accelerator="fake: no virtual machines run",
        )

    def list_guests(self) -> dict[str, PowerState]:
        with self._lock:
            return {server_id: guest.state for server_id, guest in self._guests.items()}

    def power_state(self, server_id: str) -> PowerState:
        with self._lock:
            guest = self._guests.get(server_id)
            return guest.state if guest is not None else PowerState.NOSTATE

    def console_output(self, server_id: str, length: int | None = None) -> str:
        with self._lock:
            lines = list(self._get(server_id).console)
        if length is not None:
            lines = lines[-length:] if length > 0 else []
        return "".join(line + "\n" for line in lines)

    def vnc_socket(self, server_id: str) -> Path | None:
        with self._lock:
            self._get(server_id)
        return None  # no display to show

    def diagnostics(self, server_id: str) -> GuestDiagnostics:
        """The guest's state and sizes; its counters stay at zero (nothing runs)."""
        with self._lock:
            guest = self._get(server_id)
            if guest.state is not PowerState.RUNNING:
                return GuestDiagnostics(guest.state, "fake")
            disk_count = 1 + (1 if guest.ephemeral_bytes else 0) + (1 if guest.spec.config_drive is not None else 0)
            return GuestDiagnostics(
                guest.state,
                "fake",
                cpu_times_ns=(0,) * guest.spec.vcpus,
                memory_used_mb=guest.spec.memory_mb,
                disks=(DiskStats(0, 0, 0, 0, 0),) * disk_count,
            )

    # ---- lifecycle ------------------------------------------------------------------------

    def spawn(self, spec: GuestSpec) -> None:
        check_spec(spec)
        if self.spawn_delay > 0:
            time.sleep(self.spawn_delay)
        if self.fail_spawn_prefix and spec.name.startswith(self.fail_spawn_prefix):
            raise DriverError(f"fake: spawning {spec.name!r} fails on purpose (its name starts with {self.fail_spawn_prefix!r})")
        with self._lock:
            guest = self._guests.get(spec.server_id)
            if guest is None:
                guest = self._guests[spec.server_id] = FakeGuest(
                    spec, root_bytes=spec.root_gb << 30, ephemeral_bytes=spec.ephemeral_gb << 30
                )
                guest.boot()
            elif guest.state not in (PowerState.RUNNING, PowerState.PAUSED):
                self._start(guest, spec)

    def destroy(self, server_id: str) -> None:
        with self._lock:
            self._guests.pop(server_id, None)

    def power_off(self, server_id: str, timeout: float = 60.0) -> None:
        with self._lock:
            guest = self._get(server_id)
            if guest.state in (PowerState.RUNNING, PowerState.PAUSED, PowerState.CRASHED):
                guest.log("poweroff" if timeout > 0 and guest.state is PowerState.RUNNING else "stopped hard")
                guest.state = PowerState.SHUTDOWN

    def power_on(self, spec: GuestSpec) -> None:
        check_spec(spec)
        with self._lock:
            guest = self._get(spec.server_id)
            if guest.state not in (PowerState.RUNNING, PowerState.PAUSED):
                self._start(guest, spec)

    def reboot(self, spec: GuestSpec, hard: bool) -> None:
        check_spec(spec)
        with self._lock:
            guest = self._get(spec.server_id)
            if guest.state is PowerState.SUSPENDED and not hard:
                self._start(guest, spec)  # like the real driver: a soft reboot of a saved guest resumes it
                return
            guest.log("reset" if hard else "reboot")
            guest.spec = _keep_config_drive(spec, guest.spec)
            guest.boot()

    def pause(self, server_id: str) -> None:
        with self._lock:
            guest = self._get(server_id)
            if guest.state is PowerState.RUNNING:
                guest.state = PowerState.PAUSED
                guest.log("paused")
            elif guest.state is not PowerState.PAUSED:
                raise DriverError("cannot pause a guest that is not running")

    def unpause(self, server_id: str) -> None:
        with self._lock:
            guest = self._get(server_id)
            if guest.state is PowerState.PAUSED:
                guest.state = PowerState.RUNNING
                guest.log("unpaused")
            elif guest.state is not PowerState.RUNNING:
                raise DriverError("cannot unpause a guest that is not running")

    def suspend(self, server_id: str) -> None:
        with self._lock:
            guest = self._get(server_id)
            if guest.state in (PowerState.RUNNING, PowerState.PAUSED):
                guest.state = PowerState.SUSPENDED
                guest.log("suspended")
            elif guest.state is not PowerState.SUSPENDED:
                raise DriverError("cannot suspend a guest that is not running")

    def resume(self, spec: GuestSpec) -> None:
        with self._lock:
            guest = self._get(spec.server_id)
            if guest.state in (PowerState.SUSPENDED, PowerState.PAUSED):
                guest.state = PowerState.RUNNING
                guest.log("resumed")
            elif guest.state is not PowerState.RUNNING:
                raise DriverError("the guest has no saved state to resume from")

    def snapshot(self, server_id: str, dest: Path) -> str:
        with self._lock:
            self._get(server_id).log("snapshot")
        return _write_tiny_image(Path(dest))

    # ---- network interfaces ---------------------------------------------------------------

    def attached_nics(self, server_id: str) -> tuple[Nic, ...]:
        with self._lock:
            guest = self._guests.get(server_id)
            return guest.spec.nics if guest is not None and guest.state in _HAS_DEVICES else ()

    def attach_nic(self, server_id: str, nic: Nic) -> None:
        with self._lock:
            guest = self._get(server_id)
            if guest.state not in _HAS_DEVICES:
                raise DriverError("cannot attach a NIC to a guest that is not running")
            holder = next((g for g in self._guests.values() if g is not guest and nic.tap in _taps(g)), None)
            if holder is not None:  # as a real tap: one guest at a time
                raise DriverError(f"tap {nic.tap} is still held by guest {holder.spec.server_id}")
            if nic.tap not in _taps(guest):
                guest.spec = dataclasses.replace(guest.spec, nics=(*guest.spec.nics, nic))
                guest.log(f"nic-add mac={nic.mac}")

    def detach_nic(self, server_id: str, tap: str) -> bool:
        with self._lock:
            guest = self._guests.get(server_id)
            if guest is not None and tap in _taps(guest):
                guest.spec = dataclasses.replace(guest.spec, nics=tuple(n for n in guest.spec.nics if n.tap != tap))
                guest.log(f"nic-del tap={tap}")
            return True

    # ---- rescue and resize ----------------------------------------------------------------

    def rescue(self, spec: GuestSpec, rescue_image: BootImage) -> None:
        check_spec(spec)
        with self._lock:
            guest = self._get(spec.server_id)
            if guest.rescued_with is not None and guest.state is PowerState.RUNNING:
                return
            guest.rescued_with = rescue_image
            guest.spec = _keep_config_drive(spec, guest.spec)
            guest.log(f"rescue image={rescue_image.image_id}")
            guest.boot()

    def unrescue(self, spec: GuestSpec) -> None:
        check_spec(spec)
        with self._lock:
            guest = self._get(spec.server_id)
            if guest.rescued_with is None and guest.state is PowerState.RUNNING:
                return
            guest.rescued_with = None
            guest.spec = _keep_config_drive(spec, guest.spec)
            guest.log("unrescue")
            guest.boot()

    def resize(self, spec: GuestSpec) -> None:
        check_spec(spec)
        with self._lock:
            guest = self._get(spec.server_id)
            if spec.root_gb and spec.root_gb << 30 < guest.root_bytes:
                raise DriverError(f"cannot resize the root disk down to {spec.root_gb} GiB")
            if spec.ephemeral_gb << 30 < guest.ephemeral_bytes:
                raise DriverError(f"cannot resize the ephemeral disk down to {spec.ephemeral_gb} GiB")
            if guest.state is not PowerState.SHUTDOWN:
                guest.log("poweroff")
            if guest.pre_resize is None:
                guest.pre_resize = guest.spec
            guest.spec = _keep_config_drive(spec, guest.spec)
            guest.root_bytes = max(guest.root_bytes, spec.root_gb << 30)
            guest.ephemeral_bytes = max(guest.ephemeral_bytes, spec.ephemeral_gb << 30)
            guest.state = PowerState.SHUTDOWN
            guest.log(f"resized vcpus={spec.vcpus} memory_mb={spec.memory_mb} root_gb={spec.root_gb}")

    def confirm_resize(self, server_id: str) -> None:
        with self._lock:
            guest = self._get(server_id)
            if guest.pre_resize is not None:
                guest.pre_resize = None
                guest.log("resize confirmed")

    def revert_resize(self, spec: GuestSpec) -> None:
        check_spec(spec)
        with self._lock:
            guest = self._get(spec.server_id)
            guest.state = PowerState.SHUTDOWN
            if guest.pre_resize is None:
                return
            guest.root_bytes = guest.pre_resize.root_gb << 30
            guest.ephemeral_bytes = guest.pre_resize.ephemeral_gb << 30
            guest.spec = _keep_config_drive(spec, guest.pre_resize)
            guest.pre_resize = None
            guest.log("resize reverted")

    # ---- internals ------------------------------------------------------------------------

    def _get(self, server_id: str) -> FakeGuest:
        guest = self._guests.get(server_id) if is_server_id(server_id) else None
        if guest is None:
            raise GuestNotFound(f"guest {server_id} is not on this host")
        return guest

    def _start(self, guest: FakeGuest, spec: GuestSpec) -> None:
        if guest.state is PowerState.SUSPENDED:
            guest.state = PowerState.RUNNING
            guest.log("resumed")
            return
        guest.spec = _keep_config_drive(spec, guest.spec)
        guest.boot()


_HAS_DEVICES = (PowerState.RUNNING, PowerState.PAUSED)  # a hypervisor process with devices exists


def _taps(guest: FakeGuest) -> set[str]:
    return {nic.tap for nic in guest.spec.nics} if guest.state in _HAS_DEVICES else set()


def _keep_config_drive(spec: GuestSpec, previous: GuestSpec) -> GuestSpec:
    """The drive is made once, at spawn (as the real driver does): later specs need not carry it."""
    if spec.config_drive is None and previous.config_drive is not None:
        return dataclasses.replace(spec, config_drive=previous.config_drive)
    return spec


def _write_tiny_image(dest: Path) -> str:
    """A valid, empty 1 MiB disk image: qcow2 when qemu-img is there, else raw."""
    temp = dest.with_name(f".{dest.name}.part")
    try:
        if shutil.which("qemu-img"):
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(temp), str(SNAPSHOT_SIZE)], check=True, capture_output=True)
            disk_format = "qcow2"
        else:
            with temp.open("wb") as image:
                image.truncate(SNAPSHOT_SIZE)
            disk_format = "raw"
        os.replace(temp, dest)
        return disk_format
    except (OSError, subprocess.CalledProcessError) as error:
        raise DriverError(f"fake: cannot write the snapshot: {error}") from None
    finally:
        temp.unlink(missing_ok=True)
