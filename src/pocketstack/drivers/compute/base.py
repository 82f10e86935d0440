"""What the compute agent asks of a hypervisor driver, and what it is told back.

The agent (agents/compute.py) owns the desired state in the database and decides what
to do; a driver only does one thing to one guest when asked, and reports what exists.
Every call is idempotent (spawning a guest that runs already, destroying one that is
gone: nothing happens), because the agent's loop may repeat an operation after a
crash without knowing how far the last try got.

Two drivers implement this Protocol: `qemu` (real guests, the default wherever
qemu-system-x86_64 exists) and `fake` (in memory, for API tests and scale benchmarks).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class PowerState(enum.IntEnum):
    """Nova's power_state values (the numbers travel in OS-EXT-STS:power_state)."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


class DriverError(Exception):
    """An operation failed; the message is safe to show a user as a server fault."""


class GuestNotFound(DriverError):
    pass


@dataclass(frozen=True)
class BootImage:
    """A local copy of the image to boot: the driver makes its disk from it and never
    changes the file (a copy-on-write overlay, or a raw copy)."""

    image_id: str
    path: Path
    disk_format: str  # "qcow2" or "raw" (the agent converts anything else first)
    # AMI-style images: the kernel and ramdisk to boot the disk with (-kernel/-initrd)
    kernel: Path | None = None
    ramdisk: Path | None = None
    kernel_cmdline: str | None = None


@dataclass(frozen=True)
class Nic:
    """One network interface (the networking service fills these in; none until then)."""

    mac: str
    tap: str  # the tap device name the dataplane plugs into its bridge
    mtu: int = 1500


@dataclass(frozen=True)
class GuestSpec:
    """Everything needed to create one guest."""

    server_id: str  # a UUID; also the guest's directory name and SMBIOS uuid
    name: str  # for logs and the QEMU -name (the guest's hostname comes from the config drive)
    vcpus: int
    memory_mb: int
    root_gb: int  # the root disk is grown to this size (0: the image's own size)
    image: BootImage
    ephemeral_gb: int = 0
    swap_mb: int = 0
    # path -> contents of the config drive (configdrive.config_drive_files); None: no drive
    config_drive: Mapping[str, bytes] | None = None
    nics: tuple[Nic, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)  # flavor extra specs, image hw_* properties


@dataclass(frozen=True)
class HostResources:
    """What this hypervisor offers the scheduler (before allocation ratios)."""

    hypervisor_type: str  # "QEMU" (Nova's libvirt reports QEMU for TCG and KVM alike) or "fake"
    hypervisor_version: int  # Nova's integer form: 7002000 for 7.2.0
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_info: Mapping[str, object] = field(default_factory=dict)
    accelerator: str = ""  # "kvm" or "tcg", and why, for os-hypervisors and logs


@dataclass(frozen=True)
class DiskStats:
    """One disk's I/O counters since its guest started."""

    read_bytes: int
    read_requests: int
    write_bytes: int
    write_requests: int
    errors: int


@dataclass(frozen=True)
class GuestDiagnostics:
    """What a driver can measure of one guest (GET /servers/{id}/diagnostics)."""

    power_state: PowerState
    hypervisor: str  # the acceleration guests run with: "kvm", "qemu" (TCG) or "fake"
    cpu_times_ns: tuple[int, ...] = ()  # per vCPU, while the guest runs
    memory_used_mb: int | None = None  # what the guest has now (the balloon's size)
    disks: tuple[DiskStats, ...] = ()


class ComputeDriver(Protocol):
    """One hypervisor on one host."""

    def host_resources(self) -> HostResources: ...

    def list_guests(self) -> dict[str, PowerState]:
        """Every guest this driver finds on the host (server_id -> state), including ones
        a previous agent started: the agent adopts the ones it knows and removes orphans."""
        ...

    def power_state(self, server_id: str) -> PowerState:
        """NOSTATE when the guest does not exist."""
        ...

    def spawn(self, spec: GuestSpec) -> None:
        """Create the guest's disks and config drive and start it (RUNNING on return)."""
        ...

    def destroy(self, server_id: str) -> None:
        """Stop the guest if it runs and remove everything it had on this host."""
        ...

    def power_off(self, server_id: str, timeout: float = 60.0) -> None:
        """Ask the guest to shut down (ACPI), wait up to `timeout` s, then stop it hard.
        timeout 0 stops at once. The disks stay; power_on starts it again."""
        ...

    def power_on(self, spec: GuestSpec) -> None:
        """Start a stopped guest from its existing disks (the spec gives memory, CPUs, NICs)."""
        ...

    def reboot(self, spec: GuestSpec, hard: bool) -> None:
        """Soft: a clean ACPI shutdown then a start, falling back to hard; hard: a reset."""
        ...

    def pause(self, server_id: str) -> None: ...

    def unpause(self, server_id: str) -> None: ...

    def suspend(self, server_id: str) -> None:
        """Save the guest's memory to disk and stop its process (Nova's suspend)."""
        ...

    def resume(self, spec: GuestSpec) -> None: ...

    def snapshot(self, server_id: str, dest: Path) -> str:
        """Write a standalone copy of the root disk (no backing file) to `dest`, consistent
        even while the guest runs; returns its disk format ("qcow2")."""
        ...

    def console_output(self, server_id: str, length: int | None = None) -> str:
        """The serial console log, or its last `length` lines."""
        ...

    def vnc_socket(self, server_id: str) -> Path | None:
        """Where the guest's VNC server listens (a unix socket), if it has one."""
        ...

    def diagnostics(self, server_id: str) -> GuestDiagnostics:
        """The guest's state and counters (only its state when it does not run)."""
        ...

    def attached_nics(self, server_id: str) -> tuple[Nic, ...]:
        """The NICs the guest's running hypervisor has now, hot-plugged ones included;
        () when the guest does not run (its next start takes the NICs of its spec)."""
        ...

    def attach_nic(self, server_id: str, nic: Nic) -> None:
        """Hot-plug `nic` into the running guest (nothing happens when it has it already).
        DriverError when the guest does not run or the hypervisor refuses (the tap may
        still be held by a guest that has not given it back yet: the agent tries again)."""
        ...

    def detach_nic(self, server_id: str, tap: str) -> bool:
        """Ask the running guest to give back the NIC on `tap` and free it once it has.
        True when the NIC is gone (also when the guest never had it or does not run);
        False while the guest has not released it yet: the agent asks again on a later
        pass (a guest that is paused or still booting answers the unplug request late)."""
        ...

    def rescue(self, spec: GuestSpec, rescue_image: BootImage) -> None:
        """Boot `rescue_image` with the guest's own root disk attached as the second disk."""
        ...

    def unrescue(self, spec: GuestSpec) -> None: ...

    def resize(self, spec: GuestSpec) -> None:
        """Apply a new flavor (CPUs, memory, a bigger root disk) to a stopped guest; keep
        what revert_resize needs. The guest is left stopped."""
        ...

    def confirm_resize(self, server_id: str) -> None: ...

    def revert_resize(self, spec: GuestSpec) -> None:
        """Go back to the disks and sizes from before resize (the guest is left stopped)."""
        ...
