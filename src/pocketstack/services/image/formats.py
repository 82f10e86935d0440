"""What an uploaded disk image really is, and whether it is safe to hand to QEMU.

Glance learned the hard way (OSSA-2023-002 / CVE-2022-47951, OSSA-2024-001 / CVE-2024-32498) that
an image file can make QEMU read *other* host files: a qcow2 backing file or external data file,
a VMDK descriptor whose extents name host paths, a VMDK `parentFileNameHint`. And a file declared
`raw` that really is a qcow2 becomes such an image as soon as anything probes its format.

So every upload is checked in two independent passes:

1. our own header parsing (this module): detect the real format from magic numbers, refuse a
   mismatch with the declared `disk_format`, refuse every construct that points outside the
   file, and refuse headers that describe structures beyond the end of the file. Only headers
   are read (seek + small reads), so a multi-GB upload costs a few KiB of I/O.
2. `qemu-img info` with the format always given explicitly, under CPU-time and address-space
   limits (as Nova and Glance run it): it must open the image, agree on the virtual size, and
   report no backing file, data file or foreign extent.

qemu-img only runs once pass 1 has accepted the header, so it never gets to open a file the
image names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")

# Glance disk_format -> QEMU block driver. QEMU has no "iso" driver (an ISO is raw bytes to it),
# calls VHD "vpc" and ploop "parallels"; the Amazon kernel/ramdisk/machine formats are raw.
_QEMU_DRIVERS = {
    "raw": "raw",
    "ami": "raw",
    "ari": "raw",
    "aki": "raw",
    "iso": "raw",
    "qcow2": "qcow2",
    "vmdk": "vmdk",
    "vdi": "vdi",
    "vhd": "vpc",
    "vhdx": "vhdx",
    "ploop": "parallels",
}
# Declared formats whose content must be plain bytes (a partition table is still plain bytes).
_RAW_LIKE = frozenset({"raw", "ami", "ari", "aki"})

# Formats QEMU would probe that this cloud never accepts, whatever the declaration.
_REFUSED_FORMATS = {
    "qcow": "QEMU qcow version 1",
    "qed": "QEMU QED",
    "luks": "LUKS encrypted",
    "bochs": "Bochs",
    "cloop": "compressed loop (cloop)",
}

# qemu-img runs under the limits Nova and Glance use for untrusted images: a crafted header must
# not be able to make it spin or allocate without bound.
QEMU_IMG_CPU_SECONDS = 30
QEMU_IMG_ADDRESS_SPACE = 1 << 30
QEMU_IMG_TIMEOUT = 60  # wall-clock seconds
# Converting rewrites every byte of the image, so CPU time grows with the image: a 30 s cap would
# refuse any real multi-GB conversion. Memory stays capped like `info`.
CONVERT_CPU_SECONDS = 3600
CONVERT_TIMEOUT = 2 * 3600

SECTOR = 512


class ImageRejected(Exception):
    """The upload is not acceptable; the message is one clear sentence for the user (a 400)."""


@dataclass(frozen=True)
class Inspection:
    format: str  # the Glance disk_format the content really is ("raw" when nothing else matched)
    virtual_size: int | None  # bytes the guest sees; None only where it cannot be known


def qemu_format(disk_format: str) -> str:
    """The QEMU block driver name (`-f` / `-O` of qemu-img) for a Glance disk_format."""
    try:
        return _QEMU_DRIVERS[disk_format]
    except KeyError:
        raise ValueError(f"unknown disk_format {disk_format!r}") from None


def inspect(path: Path, declared: str, *, require_format_match: bool = True) -> Inspection:
    """Check a complete uploaded file against its declared disk_format; raise ImageRejected if the content
    is another format than declared, is malformed/truncated, or could make QEMU read other host files.

    `require_format_match=False` is Glance's `[image_format] require_image_format_match = false`
    relief valve: content of another (accepted) format than declared is let through, but it is
    still checked for safety as what it really is.
    """
    if declared not in DISK_FORMATS:
        raise ImageRejected(f"Unknown disk_format {declared!r}; valid values are: {', '.join(DISK_FORMATS)}.")
    path = Path(path).absolute()  # qemu-img must never read a relative name as a protocol prefix
    with open(path, "rb") as handle:
        image = _ImageBytes(handle, os.fstat(handle.fileno()).st_size)
        detected = _detect(image)
        if detected in _REFUSED_FORMATS:
            raise ImageRejected(f"The image data is a {_REFUSED_FORMATS[detected]} image, which this cloud does not accept.")
        expected = "raw" if declared in _RAW_LIKE else declared
        if detected != expected and require_format_match:
            raise ImageRejected(f"The image data is in {detected} format, but its disk_format is {declared}.")
        fmt = declared if detected == expected else detected
        header_size = _CHECKERS[detected](image)
    qemu_size = _check_with_qemu_img(path, fmt)
    if header_size is not None and qemu_size is not None and _in_whole_sectors(header_size) != qemu_size:
        raise ImageRejected(
            f"The {fmt} image is inconsistent: its header gives a virtual size of {header_size} bytes but qemu-img reads {qemu_size}."
        )
    return Inspection(format=detected, virtual_size=header_size if header_size is not None else qemu_size)


def _in_whole_sectors(size: int) -> int:
    """QEMU sizes every disk in 512-byte sectors: a raw file of 1000 bytes is a 1024-byte disk to it."""
    return -(-size // SECTOR) * SECTOR


def convert(source: Path, dest: Path, source_format: str, target_format: str) -> None:
    """Write `source` (Glance disk_format `source_format`) to `dest` as `target_format`.

    The source is inspected first, so converting never follows a backing file or data file even
    when the caller skipped `inspect`. On failure `dest` is removed and ImageRejected raised.
    """
    source, dest = Path(source).absolute(), Path(dest).absolute()
    if target_format not in DISK_FORMATS:
        raise ImageRejected(f"Cannot convert images to unknown disk_format {target_format!r}.")
    inspect(source, source_format)
    target = qemu_format(target_format)
    options = ["-o", "force_size=on"] if target == "vpc" else []  # keep the exact size, no CHS rounding
    argv = ["convert", "-q", "-f", qemu_format(source_format), "-O", target, *options, str(source), str(dest)]
    try:
        _run_qemu_img(argv, cpu_seconds=CONVERT_CPU_SECONDS, timeout=CONVERT_TIMEOUT, hide=(source, dest))
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


# --- reading headers --------------------------------------------------------------------------


class _ImageBytes:
    """Random access to the uploaded file; only the few header bytes asked for are read."""

    def __init__(self, handle, size: int) -> None:
        self._handle = handle
        self.size = size

    def read(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes at `offset` (fewer, or none, past the end of the file)."""
        if offset < 0 or offset >= self.size or length <= 0:
            return b""
        self._handle.seek(offset)
        return self._handle.read(min(length, self.size - offset))

    def exact(self, offset: int, length: int, what: str) -> bytes:
        """Exactly `length` bytes at `offset`, or the image is truncated."""
        self.require_inside(offset, length, what)
        return self.read(offset, length)

    def require_inside(self, offset: int, length: int, what: str) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ImageRejected(f"The image is truncated or malformed: its {what} would lie beyond the end of the file.")


def _malformed(fmt: str, problem: str) -> ImageRejected:
    return ImageRejected(f"The {fmt} image is malformed: {problem}.")


# --- detection --------------------------------------------------------------------------------

_VDI_SIGNATURE = 0xBEDA107F
_PLOOP_MAGICS = (b"WithoutFreeSpace", b"WithouFreSpacExt")
_CLOOP_MAGIC = b"#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"
# ISO 9660 / UDF volume descriptors start at 32 KiB, one per 2 KiB sector; the first few hold the
# primary volume descriptor (ISO 9660) or the extended area descriptors (UDF).
_ISO_DESCRIPTOR_OFFSETS = (0x8000, 0x8800, 0x9000)
_ISO_SIGNATURES = (b"CD001", b"BEA01", b"NSR02", b"NSR03")


def _detect(image: _ImageBytes) -> str:
    """The format the bytes are, by the same magic numbers QEMU's probes use, plus ISO and fixed VHD."""
    head = image.read(0, SECTOR)
    if head.startswith(b"QFI\xfb"):
        version = struct.unpack(">I", head[4:8])[0] if len(head) >= 8 else 0
        return "qcow" if version == 1 else "qcow2"
    if head.startswith((b"KDMV", b"COWD")) or _looks_like_vmdk_descriptor(head):
        return "vmdk"
    if head.startswith(b"vhdxfile"):
        return "vhdx"
    if head.startswith(b"conectix"):
        return "vhd"
    if len(head) >= 0x44 and struct.unpack("<I", head[0x40:0x44])[0] == _VDI_SIGNATURE:
        return "vdi"
    if head.startswith(_PLOOP_MAGICS):
        return "ploop"
    if head.startswith(b"QED\x00"):
        return "qed"
    if head.startswith(b"LUKS\xba\xbe"):
        return "luks"
    if head.startswith(b"Bochs Virtual HD Image"):
        return "bochs"
    if head.startswith(_CLOOP_MAGIC):
        return "cloop"
    # A fixed VHD is raw data followed by a 512-byte footer (QEMU's probe misses it: it only looks
    # at offset 0). The footer is the outermost layer, so it wins over an ISO inside.
    if image.size >= 2 * SECTOR and image.read(image.size - SECTOR, 8) == b"conectix":
        return "vhd"
    # Hybrid ISOs also carry an MBR/GPT in their first 32 KiB: still an ISO.
    if any(image.read(offset + 1, 5) in _ISO_SIGNATURES for offset in _ISO_DESCRIPTOR_OFFSETS):
        return "iso"
    return "raw"  # including MBR and GPT partitioned disks


def _looks_like_vmdk_descriptor(head: bytes) -> bool:
    """A VMDK text descriptor: comment and blank lines, then `version=N` (QEMU's vmdk probe rule)."""
    if head.startswith(b"# Disk DescriptorFile"):
        return True
    for line in head.split(b"\n")[:-1]:  # the last piece may be cut short
        stripped = line.rstrip(b"\r")
        if stripped.startswith(b"#") or not stripped.strip(b" "):
            continue
        return stripped in (b"version=1", b"version=2", b"version=3")
    return False


# --- qcow2 (docs/interop/qcow2.txt in QEMU) ----------------------------------------------------

_QCOW2_HEADER_V2 = struct.Struct(">4sIQIIQIIQQIIQ")  # 72 bytes
_QCOW2_HEADER_V3 = struct.Struct(">QQQII")  # 32 more bytes in version 3
_QCOW2_INCOMPAT_CORRUPT = 1 << 1
_QCOW2_INCOMPAT_DATA_FILE = 1 << 2
_QCOW2_INCOMPAT_KNOWN = 0b11111  # dirty, corrupt, external data file, compression type, extended L2
_QCOW2_EXT_DATA_FILE = 0x44415441
_QCOW2_EXT_CRYPTO = 0x0537BE77


def _check_qcow2(image: _ImageBytes) -> int:
    header = image.exact(0, _QCOW2_HEADER_V2.size, "qcow2 header")
    (
        _magic,
        version,
        backing_file_offset,
        _backing_file_size,
        cluster_bits,
        virtual_size,
        crypt_method,
        l1_size,
        l1_table_offset,
        refcount_table_offset,
        refcount_table_clusters,
        nb_snapshots,
        snapshots_offset,
    ) = _QCOW2_HEADER_V2.unpack(header)
    if version not in (2, 3):
        raise _malformed("qcow2", f"version {version} is not 2 or 3")
    if backing_file_offset != 0:
        raise ImageRejected("qcow2 images with a backing file are not accepted: upload a self-contained image.")
    if crypt_method != 0:
        raise ImageRejected("Encrypted qcow2 images are not accepted.")
    if not 9 <= cluster_bits <= 21:
        raise _malformed("qcow2", f"cluster_bits {cluster_bits} is outside 9..21")
    cluster_size = 1 << cluster_bits

    header_length = _QCOW2_HEADER_V2.size
    if version == 3:
        extra = image.exact(_QCOW2_HEADER_V2.size, _QCOW2_HEADER_V3.size, "qcow2 version 3 header")
        incompatible, _compatible, _autoclear, _refcount_order, header_length = _QCOW2_HEADER_V3.unpack(extra)
        if incompatible & _QCOW2_INCOMPAT_DATA_FILE:
            raise ImageRejected("qcow2 images with an external data file are not accepted: upload a self-contained image.")
        if incompatible & ~_QCOW2_INCOMPAT_KNOWN:
            raise ImageRejected("The qcow2 image uses incompatible features this cloud does not know; it is not accepted.")
        if incompatible & _QCOW2_INCOMPAT_CORRUPT:
            raise ImageRejected("The qcow2 image is marked corrupt; repair it (qemu-img check -r all) before uploading.")
        if not _QCOW2_HEADER_V2.size + _QCOW2_HEADER_V3.size <= header_length <= cluster_size:
            raise _malformed("qcow2", f"header length {header_length} is out of range")

    _check_qcow2_extensions(image, header_length, cluster_size)
    for what, offset, length in (
        ("L1 table", l1_table_offset, l1_size * 8),
        ("refcount table", refcount_table_offset, refcount_table_clusters * cluster_size),
        ("snapshot table", snapshots_offset, 1 if nb_snapshots else 0),
    ):
        if length == 0:
            continue
        if offset % cluster_size:
            raise _malformed("qcow2", f"the {what} is not aligned to a cluster")
        image.require_inside(offset, length, f"qcow2 {what}")
    return virtual_size


def _check_qcow2_extensions(image: _ImageBytes, start: int, cluster_size: int) -> None:
    """Header extensions live in the rest of the first cluster, as (type, length, data) records."""
    area = image.read(start, cluster_size - start)
    offset = 0
    while offset + 8 <= len(area):
        kind, length = struct.unpack(">II", area[offset : offset + 8])
        if kind == 0:
            return
        if kind == _QCOW2_EXT_DATA_FILE:
            raise ImageRejected("qcow2 images with an external data file are not accepted: upload a self-contained image.")
        if kind == _QCOW2_EXT_CRYPTO:
            raise ImageRejected("Encrypted qcow2 images are not accepted.")
        offset += 8 + (length + 7) // 8 * 8
    if offset > len(area):
        raise _malformed("qcow2", "a header extension runs past the first cluster")


# --- VMDK (VMware Virtual Disk Format 1.1) ------------------------------------------------------

_VMDK_HEADER = struct.Struct("<4sIIQQQQIQQQ")  # 72 bytes
_VMDK_GD_AT_END = 0xFFFFFFFFFFFFFFFF
_VMDK_DESCRIPTOR_MAX = 1 << 20
_VMDK_CREATE_TYPES = ("monolithicSparse", "streamOptimized")
_VMDK_DESCRIPTOR_KEYS = frozenset({"version", "encoding", "cid", "parentcid", "createtype", "isnativesnapshot"})
_VMDK_EXTENT = re.compile(r'(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)(?:\s+"([^"]*)")?(?:\s+(\d+))?')
_SINGLE_FILE_VMDK = "upload a single-file monolithicSparse or streamOptimized VMDK"


def _check_vmdk(image: _ImageBytes) -> int:
    magic = image.read(0, 4)
    if magic == b"COWD":
        raise ImageRejected(f"VMware ESX COW (version 3) VMDK images are not accepted; {_SINGLE_FILE_VMDK}.")
    if magic != b"KDMV":
        raise ImageRejected(f"VMDK descriptor files refer to other files and are not accepted; {_SINGLE_FILE_VMDK}.")
    fields = _VMDK_HEADER.unpack(image.exact(0, _VMDK_HEADER.size, "VMDK header"))
    if fields[9] == _VMDK_GD_AT_END:
        # streamOptimized written in one pass keeps its real header in a footer, 1536 bytes
        # before the end (footer marker, footer, end-of-stream marker); QEMU reads that one.
        footer = image.exact(image.size - 3 * SECTOR, 3 * SECTOR, "VMDK footer")
        fields = _VMDK_HEADER.unpack(footer[SECTOR : SECTOR + _VMDK_HEADER.size])
        if fields[0] != b"KDMV":
            raise _malformed("VMDK", "the header says it is in a footer, but there is no footer")
    _magic, version, _flags, capacity, grain_size, desc_sector, desc_sectors, _gtes, _rgd, gd_sector, _overhead = fields
    if version not in (1, 2, 3):
        raise _malformed("VMDK", f"version {version} is not supported")
    if capacity == 0:
        # QEMU then reads the embedded descriptor as a descriptor *file*, whose extents may be any
        # host file (the CVE-2024-32498 VMDK variant).
        raise ImageRejected(f"A VMDK whose header declares no capacity is read as a descriptor of other files; {_SINGLE_FILE_VMDK}.")
    if grain_size == 0 or grain_size & (grain_size - 1):
        raise _malformed("VMDK", f"grain size {grain_size} is not a power of two")
    if gd_sector != _VMDK_GD_AT_END:
        image.require_inside(gd_sector * SECTOR, 4, "VMDK grain directory")
    if desc_sector == 0 or desc_sectors == 0:
        raise ImageRejected(f"This VMDK has no embedded descriptor (it is one extent of a larger disk); {_SINGLE_FILE_VMDK}.")
    descriptor = image.exact(desc_sector * SECTOR, min(desc_sectors * SECTOR, _VMDK_DESCRIPTOR_MAX), "VMDK descriptor")
    _check_vmdk_descriptor(descriptor)
    return capacity * SECTOR


def _check_vmdk_descriptor(raw: bytes) -> None:
    """Allow only a plain single-extent descriptor: an unknown line is refused, not guessed at."""
    text_bytes = raw.split(b"\0", 1)[0]  # QEMU reads it as a C string
    if re.search(rb"[^\t\r\n\x20-\x7e]", text_bytes):
        raise _malformed("VMDK", "its descriptor is not plain ASCII text")
    text = text_bytes.decode("ascii")
    if not text.strip():
        raise ImageRejected(f"This VMDK has no embedded descriptor (it is one extent of a larger disk); {_SINGLE_FILE_VMDK}.")
    # QEMU finds these keys by substring search over the whole descriptor, not line by line, so a
    # hint hidden in a ddb value or comment would still be followed.
    if "parentfilenamehint" in text.lower():
        raise ImageRejected("VMDK images with a parent (backing) disk are not accepted: upload a self-contained image.")
    if text.count("createType") != 1:
        raise _malformed("VMDK", "its descriptor must name exactly one createType")
    create_type = None
    extents = []
    for line in (raw_line.strip() for raw_line in text.split("\n")):
        if not line or line.startswith("#") or line.lower().startswith("ddb."):
            continue
        extent = _VMDK_EXTENT.fullmatch(line)
        if extent:
            extents.append(extent)
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip().lower(), value.strip().strip('"')
        if not sep or key not in _VMDK_DESCRIPTOR_KEYS:
            raise _malformed("VMDK", "its descriptor has a line this cloud does not accept")
        if key == "createtype":
            create_type = value
        elif key == "parentcid" and value.lower() != "ffffffff":
            raise ImageRejected("VMDK images with a parent (backing) disk are not accepted: upload a self-contained image.")
    if create_type not in _VMDK_CREATE_TYPES:
        raise ImageRejected(f"VMDK images of type {create_type!r} are not accepted; {_SINGLE_FILE_VMDK}.")
    if len(extents) != 1 or extents[0].group(3) != "SPARSE" or "/" in (extents[0].group(4) or "/"):
        raise ImageRejected(f"The VMDK descriptor names extents other than the file itself; {_SINGLE_FILE_VMDK}.")


# --- VDI (VirtualBox) ---------------------------------------------------------------------------

_VDI_VERSION_1_1 = 0x00010001
_VDI_TYPES = {1: "dynamic", 2: "static"}


def _check_vdi(image: _ImageBytes) -> int:
    header = image.exact(0, 0x188, "VDI header")
    version, _header_size, image_type = struct.unpack("<III", header[0x44:0x50])
    bitmap_offset, data_offset = struct.unpack("<II", header[0x154:0x15C])
    sector_size = struct.unpack("<I", header[0x168:0x16C])[0]
    disk_size, block_size, _block_extra, blocks, blocks_allocated = struct.unpack("<QIIII", header[0x170:0x188])
    if version != _VDI_VERSION_1_1:
        raise _malformed("VDI", f"version {version:#x} is not 1.1")
    if image_type not in _VDI_TYPES:
        raise ImageRejected("Differencing and undo VDI images depend on a parent disk and are not accepted.")
    if sector_size != SECTOR or block_size == 0 or blocks_allocated > blocks or disk_size > blocks * block_size:
        raise _malformed("VDI", "its geometry fields contradict each other")
    image.require_inside(bitmap_offset, blocks * 4, "VDI block map")
    image.require_inside(data_offset, blocks_allocated * block_size, "VDI data area")
    return disk_size


# --- VHD (QEMU "vpc") ---------------------------------------------------------------------------

_VHD_FOOTER = struct.Struct(">8sIIQI4sIIQQHBBII16sB")
_VHD_FIXED, _VHD_DYNAMIC, _VHD_DIFFERENCING = 2, 3, 4
_VHD_MAX_GEOMETRY = 65535 * 16 * 255
# Creators whose images QEMU sizes by the footer's current_size rather than by CHS geometry.
_VHD_SIZE_BY_CURRENT_SIZE = (b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\x00")


def _check_vhd(image: _ImageBytes) -> int:
    at_start = image.read(0, 8) == b"conectix"
    footer_offset = 0 if at_start else image.size - SECTOR
    footer = _VHD_FOOTER.unpack(image.exact(footer_offset, _VHD_FOOTER.size, "VHD footer"))
    _cookie, _features, _version, data_offset, _time, creator_app, _cv, _os, _orig, current_size, cylinders, heads, sectors, disk_type = (
        footer[:14]
    )
    if disk_type == _VHD_DIFFERENCING:
        raise ImageRejected("Differencing VHD images depend on a parent disk and are not accepted.")
    if disk_type not in (_VHD_FIXED, _VHD_DYNAMIC):
        raise _malformed("VHD", f"disk type {disk_type} is unknown")
    # The virtual size the way QEMU's vpc driver computes it.
    total_sectors = cylinders * heads * sectors
    if creator_app in _VHD_SIZE_BY_CURRENT_SIZE or total_sectors == _VHD_MAX_GEOMETRY:
        total_sectors = current_size // SECTOR
    virtual_size = total_sectors * SECTOR
    if disk_type == _VHD_FIXED:
        image.require_inside(0, virtual_size + SECTOR, "fixed VHD data")
        return virtual_size
    dynamic = image.exact(data_offset, 40, "VHD dynamic disk header")
    if dynamic[:8] != b"cxsparse":
        raise _malformed("VHD", "the dynamic disk header is missing")
    table_offset, _version, table_entries, block_size = struct.unpack(">QIII", dynamic[16:36])
    if block_size < SECTOR or block_size & (block_size - 1):
        raise _malformed("VHD", f"block size {block_size} is not a power of two")
    if table_entries * block_size < virtual_size:
        raise _malformed("VHD", "its block table is too small for its size")
    image.require_inside(table_offset, table_entries * 4, "VHD block allocation table")
    return virtual_size


# --- VHDX (MS-VHDX) -----------------------------------------------------------------------------


def _guid(text: str) -> bytes:
    return uuid.UUID(text).bytes_le


_VHDX_REGION_TABLE_OFFSETS = (192 * 1024, 256 * 1024)
_VHDX_METADATA_REGION = _guid("8B7CA206-4790-4B9A-B8FE-575F050F886E")
_VHDX_FILE_PARAMETERS = _guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
_VHDX_VIRTUAL_DISK_SIZE = _guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
_VHDX_PARENT_LOCATOR = _guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
_VHDX_HAS_PARENT = 1 << 1
_VHDX_MAX_ENTRIES = 2047


def _check_vhdx(image: _ImageBytes) -> int:
    region_offset, region_length = _vhdx_metadata_region(image)
    table = image.exact(region_offset, 32, "VHDX metadata table")
    signature, _reserved, count = struct.unpack("<8sHH", table[:12])
    if signature != b"metadata" or count > _VHDX_MAX_ENTRIES:
        raise _malformed("VHDX", "its metadata table is invalid")
    entries = image.exact(region_offset + 32, count * 32, "VHDX metadata table")
    items = {}
    for index in range(count):
        entry = entries[index * 32 : index * 32 + 32]
        item_offset, item_length = struct.unpack("<II", entry[16:24])
        if item_offset + item_length > region_length:
            raise _malformed("VHDX", "a metadata item lies outside the metadata region")
        items[entry[:16]] = (region_offset + item_offset, item_length)
    if _VHDX_PARENT_LOCATOR in items:
        raise ImageRejected("Differencing VHDX images depend on a parent disk and are not accepted.")
    if _VHDX_FILE_PARAMETERS not in items or _VHDX_VIRTUAL_DISK_SIZE not in items:
        raise _malformed("VHDX", "required metadata items are missing")
    parameters = image.exact(items[_VHDX_FILE_PARAMETERS][0], 8, "VHDX file parameters")
    if struct.unpack("<I", parameters[4:8])[0] & _VHDX_HAS_PARENT:
        raise ImageRejected("Differencing VHDX images depend on a parent disk and are not accepted.")
    return struct.unpack("<Q", image.exact(items[_VHDX_VIRTUAL_DISK_SIZE][0], 8, "VHDX virtual disk size"))[0]


def _vhdx_metadata_region(image: _ImageBytes) -> tuple[int, int]:
    """(offset, length) of the metadata region, from the first valid of the two region tables."""
    for table_offset in _VHDX_REGION_TABLE_OFFSETS:
        header = image.read(table_offset, 16)
        if len(header) < 16 or header[:4] != b"regi":
            continue
        count = struct.unpack("<I", header[8:12])[0]
        if count > _VHDX_MAX_ENTRIES:
            raise _malformed("VHDX", "its region table is too long")
        entries = image.exact(table_offset + 16, count * 32, "VHDX region table")
        for index in range(count):
            entry = entries[index * 32 : index * 32 + 32]
            if entry[:16] == _VHDX_METADATA_REGION:
                offset, length = struct.unpack("<QI", entry[16:28])
                image.require_inside(offset, length, "VHDX metadata region")
                return offset, length
        raise _malformed("VHDX", "there is no metadata region")
    raise _malformed("VHDX", "no region table was found")


# --- ploop (QEMU "parallels") -------------------------------------------------------------------

_PLOOP_HEADER = struct.Struct("<16sIIIIIQIIIQ")  # 64 bytes


def _check_ploop(image: _ImageBytes) -> int:
    header = _PLOOP_HEADER.unpack(image.exact(0, _PLOOP_HEADER.size, "ploop header"))
    magic, version, _heads, _cylinders, tracks, bat_entries, nb_sectors, _inuse, data_offset, _flags, ext_offset = header
    if version != 2 or tracks == 0:
        raise _malformed("ploop", "its header fields are invalid")
    if magic == b"WithoutFreeSpace":
        nb_sectors &= 0xFFFFFFFF  # the old format only has 32 bits of sector count
    image.require_inside(_PLOOP_HEADER.size, bat_entries * 4, "ploop block allocation table")
    image.require_inside(0, data_offset * SECTOR, "ploop data")
    if ext_offset:
        image.require_inside(ext_offset * SECTOR, SECTOR, "ploop format extension")
    return nb_sectors * SECTOR


# --- ISO 9660 and raw ---------------------------------------------------------------------------


def _check_iso(image: _ImageBytes) -> int:
    """The guest sees the whole file; the primary volume descriptor only proves it is complete."""
    for offset in _ISO_DESCRIPTOR_OFFSETS:
        descriptor = image.read(offset, 2048)
        if len(descriptor) == 2048 and descriptor[0] == 1 and descriptor[1:6] == b"CD001":
            blocks = struct.unpack("<I", descriptor[80:84])[0]
            block_size = struct.unpack("<H", descriptor[128:130])[0]
            image.require_inside(0, blocks * block_size, "ISO 9660 volume")
            break
    return image.size


def _check_raw(image: _ImageBytes) -> int:
    return image.size


_CHECKERS = {
    "raw": _check_raw,
    "iso": _check_iso,
    "qcow2": _check_qcow2,
    "vmdk": _check_vmdk,
    "vdi": _check_vdi,
    "vhd": _check_vhd,
    "vhdx": _check_vhdx,
    "ploop": _check_ploop,
}


# --- qemu-img -----------------------------------------------------------------------------------

# Sets the limits in the child and then becomes qemu-img (what oslo.concurrency's prlimit does);
# a preexec_fn is not safe in our threaded server.
_WITH_LIMITS = (
    "import os, resource, sys\n"
    "for limit, value in ((resource.RLIMIT_CPU, int(sys.argv[1])), (resource.RLIMIT_AS, int(sys.argv[2]))):\n"
    "    hard = resource.getrlimit(limit)[1]\n"
    "    value = value if hard == resource.RLIM_INFINITY else min(value, hard)\n"
    "    resource.setrlimit(limit, (value, value))\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


def _run_qemu_img(argv: list[str], *, cpu_seconds: int, timeout: int, hide: tuple[Path, ...]) -> str:
    qemu_img = shutil.which("qemu-img")
    if qemu_img is None:
        raise RuntimeError("qemu-img is not installed (Debian/Ubuntu package qemu-utils)")
    limits = [sys.executable, "-I", "-S", "-c", _WITH_LIMITS, str(cpu_seconds), str(QEMU_IMG_ADDRESS_SPACE)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    # Its own process group, so a timeout kills everything it started, not just the first process.
    with subprocess.Popen(
        [*limits, qemu_img, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise ImageRejected("qemu-img took too long to process the image; it is not accepted.") from None
    if process.returncode != 0:
        # Say what qemu-img said, without our server-side file names.
        reason = (stderr.strip().splitlines() or [f"exit status {process.returncode}"])[-1]
        for server_path in hide:
            reason = reason.replace(str(server_path), "image")
        reason = reason.removeprefix("qemu-img: ")
        raise ImageRejected(f"qemu-img could not process the image: {reason}.")
    return stdout


def _check_with_qemu_img(path: Path, disk_format: str) -> int | None:
    """Open the image with QEMU's own driver and refuse anything that points outside the file."""
    driver = qemu_format(disk_format)
    output = _run_qemu_img(
        ["info", "-f", driver, "-U", "--output=json", str(path)], cpu_seconds=QEMU_IMG_CPU_SECONDS, timeout=QEMU_IMG_TIMEOUT, hide=(path,)
    )
    try:
        info = json.loads(output)
    except ValueError:
        raise ImageRejected("qemu-img could not describe the image.") from None
    if info.get("format") != driver:
        raise ImageRejected(f"qemu-img does not read the image as {disk_format}.")
    if any(key in info for key in ("backing-filename", "full-backing-filename", "backing-filename-format")):
        raise ImageRejected(f"{disk_format} images with a backing file are not accepted: upload a self-contained image.")
    details = (info.get("format-specific") or {}).get("data") or {}
    if details.get("data-file"):
        raise ImageRejected(f"{disk_format} images with an external data file are not accepted: upload a self-contained image.")
    # Newer qemu-img (8.0+) also lists the child nodes it opened: the image file itself is the only one allowed.
    for child in info.get("children") or []:
        child_file = (child.get("info") or {}).get("filename")
        if child.get("name") in ("backing", "data-file") or child_file not in (None, str(path)):
            raise ImageRejected(f"The {disk_format} image opens files other than itself; it is not accepted.")
    if driver == "vmdk":
        extents = details.get("extents") or []
        if details.get("create-type") not in _VMDK_CREATE_TYPES or [e.get("filename") for e in extents] != [str(path)]:
            raise ImageRejected(f"The VMDK image refers to files other than itself; {_SINGLE_FILE_VMDK}.")
    size = info.get("virtual-size")
    return size if isinstance(size, int) else None
