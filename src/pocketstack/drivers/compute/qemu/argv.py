"""The qemu-system-x86_64 command line for one guest (pure: no files touched, easy to test).

Choices, and why:
- ``-machine pc`` (i440FX): ACPI hotplug of PCI devices works on its root bus without extra
  root ports (q35 needs them, and unplugs there take ~5 s), and its built-in IDE controller
  carries the config drive as a CD-ROM, where guests look for it.
- ``-nodefaults -no-user-config``: nothing we did not ask for; above all no default
  user-mode NIC, which would give the guest a path to the host's real network.
- ``-daemonize -pidfile``: QEMU returns once the guest is set up (errors come back at
  once) and then lives on its own, re-parented to init, so the agent can restart without
  taking guests down; the pidfile is how we find it again.
- NICs are named by their tap (netdev ``net-<tap>``, device ``nic-<tap>``), so a NIC plugged in
  at boot and one hot-plugged later (nics.py) are found and unplugged alike. They come last, after
  every other PCI device: the others then keep their slots whatever NICs come and go, and NICs
  whose slot is pinned (LaunchPlan.nic_slots) get it back, as a restore of saved memory needs.
- disks are ``-blockdev`` nodes named by role (root, ephemeral0, swap, rescue, config), so QMP
  block jobs (the live snapshot) can name them; JSON syntax needs no comma escaping in paths.
- the serial console goes to a file (console.log) that the driver bounds, VNC to a unix socket,
  QMP to a unix socket. The two sockets have relative paths: QEMU binds them in its working
  directory (the instance directory) before it daemonizes, so the 107-byte limit of unix
  socket paths does not bound how deep the instances directory may be.
- no ``-no-shutdown``: a guest that powers itself off ends its QEMU, so "process gone" is
  SHUTDOWN whoever stopped it. No ``-no-reboot``: a guest's own reboot just resets it.
- SMBIOS as Nova sets it (manufacturer, product, family, serial and uuid = server id):
  cloud-init recognizes OpenStack by the product name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pocketstack.drivers.compute.accel import Acceleration, qemu_accel_args
from pocketstack.drivers.compute.base import BootImage, DriverError, GuestSpec, Nic
from pocketstack.drivers.compute.qemu.layout import QMP_SOCKET, VNC_SOCKET, InstanceFiles

SMBIOS_MANUFACTURER = "OpenStack Foundation"  # nova.version.vendor_string()
SMBIOS_PRODUCT = "OpenStack Nova"  # nova.version.product_string(); cloud-init also accepts "OpenStack Compute"
SMBIOS_FAMILY = "Virtual Machine"
DEFAULT_KERNEL_CMDLINE = "root=/dev/vda console=tty0 console=ttyS0"  # Nova's for AMI-style images

# image property hw_video_model -> QEMU device (None: no display; VNC then shows nothing)
VIDEO_DEVICES = {
    "vga": "VGA",
    "virtio": "virtio-vga",
    "bochs": "bochs-display",
    "cirrus": "cirrus-vga",
    "qxl": "qxl-vga",
    "vmvga": "vmware-svga",
    "none": None,
}  # Nova's other values (xen, gop) have no device in qemu-system-x86_64
DEFAULT_VIDEO_MODEL = "vga"

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_TAP_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # IFNAMSIZ - 1; nothing QEMU's option parser would split


@dataclass(frozen=True)
class Disk:
    """One virtio disk: its QMP node name, file and format."""

    node: str
    path: Path
    disk_format: str


@dataclass(frozen=True)
class LaunchPlan:
    """What to start: the guest's resources and NICs from `spec`, the disks in boot order."""

    spec: GuestSpec
    disks: tuple[Disk, ...]
    config_drive: Path | None = None
    kernel_image: BootImage | None = None  # boot its kernel/ramdisk directly (AMI-style)
    incoming_fd: int | None = None  # restore the saved state readable on this fd (resume)
    nic_slots: Mapping[str, int] = field(default_factory=dict)  # tap -> PCI slot it had in the saved QEMU


def qemu_command(qemu: str, plan: LaunchPlan, files: InstanceFiles, acceleration: Acceleration) -> list[str]:
    spec = plan.spec
    argv = [
        qemu,
        "-name", f"guest={_opt(spec.name)},debug-threads=on",
        "-uuid", spec.server_id,
        "-machine", "pc",
        *qemu_accel_args(acceleration),
        "-m", str(spec.memory_mb),
        "-smp", str(spec.vcpus),
        "-nodefaults", "-no-user-config",
        "-rtc", "base=utc",
        "-smbios", _smbios(spec.server_id),
        "-global", "PIIX4_PM.disable_s3=1",  # no guest suspend-to-RAM/disk: libvirt's default, as Nova runs it
        "-global", "PIIX4_PM.disable_s4=1",
        "-boot", "strict=on",
    ]  # fmt: skip
    argv += _kernel_args(plan.kernel_image)
    for index, disk in enumerate(plan.disks):
        argv += _disk_args(disk, bootindex=index if index == 0 else None)
    if plan.config_drive is not None:
        argv += _config_drive_args(plan.config_drive)
    argv += _video_args(spec.extra)
    argv += _rng_args(spec.extra)
    argv += ["-device", "virtio-balloon-pci,id=balloon0"]
    # pinned NICs first: a NIC placed automatically takes the lowest free slot, maybe a pinned one's
    for nic in sorted(spec.nics, key=lambda nic: nic.tap not in plan.nic_slots):
        argv += _nic_args(nic, plan.nic_slots.get(nic.tap))
    argv += [
        "-chardev", f"file,id=console,path={_opt(str(files.console_log))},append=on",
        "-serial", "chardev:console",
        "-display", "none",
        "-vnc", f"unix:{VNC_SOCKET}",
        "-qmp", f"unix:{QMP_SOCKET},server=on,wait=off",
        "-pidfile", str(files.pidfile),
        "-msg", "timestamp=on",
        "-daemonize",
    ]  # fmt: skip
    if plan.incoming_fd is not None:
        argv += ["-incoming", f"fd:{plan.incoming_fd}"]
    return argv


def _opt(value: str) -> str:
    """A value inside a QEMU option string: commas are doubled (a single one separates options)."""
    return value.replace(",", ",,")


def _smbios(server_id: str) -> str:
    fields = {
        "manufacturer": SMBIOS_MANUFACTURER,
        "product": SMBIOS_PRODUCT,
        "family": SMBIOS_FAMILY,
        "serial": server_id,
        "uuid": server_id,
    }
    return "type=1," + ",".join(f"{key}={_opt(value)}" for key, value in fields.items())


def _kernel_args(image: BootImage | None) -> list[str]:
    if image is None or image.kernel is None:
        return []
    argv = ["-kernel", str(image.kernel)]
    if image.ramdisk is not None:
        argv += ["-initrd", str(image.ramdisk)]
    return argv + ["-append", image.kernel_cmdline or DEFAULT_KERNEL_CMDLINE]


def _disk_args(disk: Disk, *, bootindex: int | None) -> list[str]:
    node = {
        "driver": disk.disk_format,
        "node-name": disk.node,
        "discard": "unmap",  # guest TRIM punches holes in the file
        "file": {"driver": "file", "filename": str(disk.path), "discard": "unmap"},
    }
    device = f"virtio-blk-pci,drive={disk.node},id={disk.node}-disk"
    if bootindex is not None:
        device += f",bootindex={bootindex}"
    return ["-blockdev", json.dumps(node), "-device", device]


def _config_drive_args(path: Path) -> list[str]:
    node = {"driver": "raw", "node-name": "config", "read-only": True, "file": {"driver": "file", "filename": str(path), "read-only": True}}
    # second IDE channel as Nova's hdd: IDE CD-ROM is where config-2 drives are looked for
    return ["-blockdev", json.dumps(node), "-device", "ide-cd,drive=config,id=config-disk,bus=ide.1,unit=0"]


def checked_mac(nic: Nic) -> str:
    """The NIC's MAC in QEMU's form; DriverError when the MAC or the tap name could smuggle
    options into a QEMU option string or would not be a valid QEMU id."""
    mac = nic.mac.lower()
    if not _MAC.match(mac):
        raise DriverError(f"invalid MAC address {nic.mac!r}")
    if not _TAP_NAME.match(nic.tap):
        raise DriverError(f"invalid tap device name {nic.tap!r}")
    return mac


def nic_netdev_id(tap: str) -> str:
    return f"net-{tap}"


def nic_device_id(tap: str) -> str:
    return f"nic-{tap}"


def _nic_args(nic: Nic, slot: int | None) -> list[str]:
    mac = checked_mac(nic)
    netdev = nic_netdev_id(nic.tap)
    device = f"virtio-net-pci,netdev={netdev},id={nic_device_id(nic.tap)},mac={mac},host_mtu={int(nic.mtu)}"
    if slot is not None:
        device += f",addr={int(slot):#x}"
    return [
        "-netdev", f"tap,id={netdev},ifname={nic.tap},script=no,downscript=no",  # no vhost: the host has no vhost_net
        "-device", device,
    ]  # fmt: skip


def _video_args(extra: Mapping[str, str]) -> list[str]:
    model = extra.get("hw_video_model", DEFAULT_VIDEO_MODEL)
    if model not in VIDEO_DEVICES:
        raise DriverError(f"unsupported hw_video_model {model!r}; supported: {', '.join(sorted(VIDEO_DEVICES))}")
    device = VIDEO_DEVICES[model]
    return ["-device", f"{device},id=video0"] if device else []


def _rng_args(extra: Mapping[str, str]) -> list[str]:
    model = extra.get("hw_rng_model")
    if model is None:
        return []
    if model != "virtio":
        raise DriverError(f"unsupported hw_rng_model {model!r}; supported: virtio")
    return ["-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-pci,rng=rng0,id=rng0-dev"]
