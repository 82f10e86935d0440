"""What a guest keeps on the host: one directory per server and the record to restart it from.

<instances_dir>/<server_id>/
    guest.json          the GuestSpec it was last started with (NICs hot-plugged since included),
                        the root disk's format, and the PCI slots of its NICs once one was hot-plugged
    disk                the root disk: a qcow2 overlay on the image (or a raw/qcow2 copy)
    disk.eph0           ephemeral disk (qcow2), when the flavor has one
    disk.swap           swap disk (qcow2), when the flavor has one
    disk.config         the config drive (ISO 9660, label config-2)
    disk.rescue         the rescue image's overlay while the guest is rescued (rescue.json says with what)
    console.log(.0)     the serial console (see console.py for how it stays bounded)
    qemu.log            QEMU's own error output and the command lines it was started with
    qemu.pid            the pidfile of the running QEMU (QEMU removes it on a clean exit)
    qmp.sock vnc.sock   QEMU's monitor and VNC server (unix sockets)
    memory.state        the saved memory of a suspended guest
    resize-backup/      the disks and guest.json from before a resize, until it is confirmed or reverted
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pocketstack.drivers.compute.base import BootImage, GuestSpec, Nic

RECORD_FORMAT = 1
QMP_SOCKET = "qmp.sock"  # QEMU binds the sockets by these relative names, in the instance directory
VNC_SOCKET = "vnc.sock"


@dataclass(frozen=True)
class InstanceFiles:
    """The paths of one guest's files."""

    directory: Path

    @property
    def server_id(self) -> str:
        return self.directory.name

    record = property(lambda self: self.directory / "guest.json")
    rescue_record = property(lambda self: self.directory / "rescue.json")
    disk = property(lambda self: self.directory / "disk")
    ephemeral = property(lambda self: self.directory / "disk.eph0")
    swap = property(lambda self: self.directory / "disk.swap")
    config_drive = property(lambda self: self.directory / "disk.config")
    rescue_disk = property(lambda self: self.directory / "disk.rescue")
    console_log = property(lambda self: self.directory / "console.log")
    console_log_previous = property(lambda self: self.directory / "console.log.0")
    qemu_log = property(lambda self: self.directory / "qemu.log")
    pidfile = property(lambda self: self.directory / "qemu.pid")
    qmp_socket = property(lambda self: self.directory / QMP_SOCKET)
    vnc_socket = property(lambda self: self.directory / VNC_SOCKET)
    saved_state = property(lambda self: self.directory / "memory.state")
    saved_state_partial = property(lambda self: self.directory / "memory.state.partial")
    resize_backup = property(lambda self: self.directory / "resize-backup")


# what a resize may change, so what its backup holds (guest.json included)
RESIZED_FILES = ("record", "disk", "ephemeral", "swap")


@dataclass(frozen=True)
class GuestRecord:
    """guest.json: the spec without the config drive's contents (the drive is on disk already)."""

    spec: GuestSpec
    root_format: str  # "qcow2" or "raw"
    # tap -> PCI slot in the running QEMU, kept once NICs were hot-plugged or unplugged: a restore
    # of saved memory needs every device back in its slot. Empty: the command line's own order.
    nic_slots: Mapping[str, int] = field(default_factory=dict)


def write_record(path: Path, record: GuestRecord) -> None:
    spec = record.spec
    document = {
        "format": RECORD_FORMAT,
        "root_format": record.root_format,
        "nic_slots": dict(record.nic_slots),
        "spec": {
            "server_id": spec.server_id,
            "name": spec.name,
            "vcpus": spec.vcpus,
            "memory_mb": spec.memory_mb,
            "root_gb": spec.root_gb,
            "ephemeral_gb": spec.ephemeral_gb,
            "swap_mb": spec.swap_mb,
            "image": boot_image_to_json(spec.image),
            "nics": [{"mac": nic.mac, "tap": nic.tap, "mtu": nic.mtu} for nic in spec.nics],
            "extra": dict(spec.extra),
        },
    }
    write_atomically(path, json.dumps(document, indent=2, sort_keys=True).encode() + b"\n")


def read_record(path: Path) -> GuestRecord | None:
    """The record in `path`; None if there is none (a directory that is no guest of ours)."""
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    if document.get("format") != RECORD_FORMAT:
        raise ValueError(f"{path}: unknown record format {document.get('format')!r}")
    spec = document["spec"]
    return GuestRecord(
        spec=GuestSpec(
            server_id=spec["server_id"],
            name=spec["name"],
            vcpus=spec["vcpus"],
            memory_mb=spec["memory_mb"],
            root_gb=spec["root_gb"],
            image=boot_image_from_json(spec["image"]),
            ephemeral_gb=spec["ephemeral_gb"],
            swap_mb=spec["swap_mb"],
            nics=tuple(Nic(**nic) for nic in spec["nics"]),
            extra=spec["extra"],
        ),
        root_format=document["root_format"],
        nic_slots={str(tap): int(slot) for tap, slot in document.get("nic_slots", {}).items()},
    )


def boot_image_to_json(image: BootImage) -> dict:
    return {
        "image_id": image.image_id,
        "path": str(image.path),
        "disk_format": image.disk_format,
        "kernel": str(image.kernel) if image.kernel else None,
        "ramdisk": str(image.ramdisk) if image.ramdisk else None,
        "kernel_cmdline": image.kernel_cmdline,
    }


def boot_image_from_json(document: Mapping) -> BootImage:
    return BootImage(
        image_id=document["image_id"],
        path=Path(document["path"]),
        disk_format=document["disk_format"],
        kernel=Path(document["kernel"]) if document.get("kernel") else None,
        ramdisk=Path(document["ramdisk"]) if document.get("ramdisk") else None,
        kernel_cmdline=document.get("kernel_cmdline"),
    )


def write_atomically(path: Path, content: bytes) -> None:
    """Readers see the old file or the new one, never half of it, even across a crash."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
