"""The guest's disk files, made and changed with qemu-img (and mkfs for blank disks).

Every file is written under a temporary name and renamed into place, so a crash mid-way
leaves either no disk or a whole one: an agent repeating a spawn then simply makes it again.
The image a disk comes from is named with its format (-F / -f) and never probed, so a raw
image that happens to look like qcow2 cannot make QEMU read a host file of its choosing.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pocketstack.drivers.compute.base import BootImage, DriverError

GIB = 1 << 30
MIB = 1 << 20
QEMU_IMG_TIMEOUT_S = 3600  # a convert of a big disk takes long; a hung one still ends
EPHEMERAL_LABEL = "ephemeral0"  # what cloud-init looks for (Nova labels it so too)


def qemu_img(*arguments: str, timeout: float = QEMU_IMG_TIMEOUT_S) -> str:
    return run(["qemu-img", *arguments], timeout=timeout)


def run(argv: list[str], *, timeout: float = QEMU_IMG_TIMEOUT_S) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise DriverError(f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise DriverError(f"{argv[0]} {argv[1]} did not finish within {timeout:g} s") from None
    if done.returncode != 0:
        raise DriverError(f"{argv[0]} {argv[1]} failed: {(done.stderr or done.stdout).strip()[-1000:]}")
    return done.stdout


def virtual_size(path: Path, disk_format: str) -> int:
    """The disk's size as the guest sees it. -U: a running QEMU may hold the file; the size in
    the header only changes when we resize, which we do to stopped guests."""
    info = json.loads(qemu_img("info", "--output=json", "-U", "-f", disk_format, str(path)))
    return int(info["virtual-size"])


def create_root_disk(image: BootImage, dest: Path, *, use_cow: bool) -> str:
    """The root disk from `image`: a qcow2 overlay backed by it, or a raw copy; returns the format."""
    if image.disk_format not in ("qcow2", "raw"):
        raise DriverError(f"cannot boot a {image.disk_format} image: the agent converts it to qcow2 or raw first")
    source = Path(image.path).resolve()
    if not source.is_file():
        raise DriverError(f"image {image.image_id} is not on this host ({source})")
    with _replacing(dest) as temp:
        if use_cow:
            qemu_img("create", "-q", "-f", "qcow2", "-b", str(source), "-F", image.disk_format, str(temp))
        else:
            qemu_img("convert", "-f", image.disk_format, "-O", "raw", str(source), str(temp))
    return "qcow2" if use_cow else "raw"


def grow(path: Path, disk_format: str, size_bytes: int) -> None:
    """Make the disk `size_bytes` big if it is smaller; never shrink it (that would cut guest data)."""
    if size_bytes > virtual_size(path, disk_format):
        qemu_img("resize", "-q", "-f", disk_format, str(path), str(size_bytes))


def create_blank_disk(dest: Path, size_bytes: int, filesystem: str | None, label: str | None = None) -> None:
    """A qcow2 disk of `size_bytes`, formatted as Nova does: ext4 for ephemeral disks, swap for swap.

    The file system is made on a sparse raw file (no loop device needed) and converted, so the
    qcow2 holds only the few metadata blocks mkfs wrote."""
    with _replacing(dest) as temp:
        raw = temp.with_name(temp.name + ".raw")
        try:
            with raw.open("wb") as file:
                file.truncate(size_bytes)
            if filesystem == "ext4":
                run(["mkfs.ext4", "-q", "-F", *(["-L", label] if label else []), str(raw)])
            elif filesystem == "swap":
                run(["mkswap", *(["-L", label] if label else []), str(raw)])
            elif filesystem is not None:
                raise DriverError(f"unknown file system {filesystem!r}")
            qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(temp))
        finally:
            raw.unlink(missing_ok=True)


def convert_standalone(source: Path, disk_format: str, dest: Path) -> None:
    """A qcow2 copy of `source` with everything from its backing chain in it (no backing file)."""
    with _replacing(dest) as temp:
        qemu_img("convert", "-f", disk_format, "-O", "qcow2", str(source), str(temp))


def copy_disk(source: Path, dest: Path) -> None:
    """An exact copy of the file (an overlay stays an overlay of the same image), holes kept."""
    with _replacing(dest) as temp:
        run(["cp", "--reflink=auto", "--sparse=always", str(source), str(temp)])


@contextmanager
def _replacing(dest: Path) -> Iterator[Path]:
    """A temporary path next to `dest`, renamed to `dest` when the block succeeds, removed if not."""
    temp = dest.with_name(f".{dest.name}.part")
    temp.unlink(missing_ok=True)
    try:
        yield temp
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)
