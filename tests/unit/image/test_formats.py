"""image.formats: what uploaded image bytes really are, and refusing images that could make QEMU
read other host files (Glance OSSA-2023-002 / OSSA-2024-001) or that are not what they claim."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from pocketstack.services.image import formats
from pocketstack.services.image.formats import DISK_FORMATS, ImageRejected, Inspection, convert, inspect, qemu_format

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img (qemu-utils)")

SIZE = 4 * 1024 * 1024  # the virtual size of every disk the tests make
ISO_BLOCK = 2048


# --- making images ------------------------------------------------------------------------------


def qemu_img(*args: str | Path) -> None:
    subprocess.run(["qemu-img", *map(str, args)], check=True, capture_output=True)


def data_disk(tmp: Path) -> Path:
    """A raw disk with data in it, so compressed and stream formats have something to hold."""
    path = tmp / "data.raw"
    if not path.exists():
        with open(path, "wb") as out:
            out.truncate(SIZE)
            for offset in (0, SIZE // 2):
                out.seek(offset)
                out.write(os.urandom(64 * 1024))
    return path


def created(tmp: Path, fmt: str, *options: str) -> Path:
    path = tmp / f"created-{uuid.uuid4().hex[:6]}.{fmt}"
    qemu_img("create", "-q", "-f", fmt, *options, path, str(SIZE))
    return path


def converted(tmp: Path, fmt: str, *options: str) -> Path:
    path = tmp / f"converted-{uuid.uuid4().hex[:6]}.{fmt}"
    qemu_img("convert", "-f", "raw", "-O", fmt, *options, data_disk(tmp), path)
    return path


def written(tmp: Path, data: bytes, name: str = "bytes.img") -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def patched(path: Path, offset: int, data: bytes) -> Path:
    with open(path, "r+b") as image:
        image.seek(offset)
        image.write(data)
    return path


def truncated(path: Path, length: int) -> Path:
    os.truncate(path, length)
    return path


def iso_bytes(blocks: int = 24, *, claimed_blocks: int | None = None, mbr: bool = False) -> bytes:
    """A minimal ISO 9660 volume: primary volume descriptor at 32 KiB, then the set terminator."""
    data = bytearray(blocks * ISO_BLOCK)
    if mbr:  # what isohybrid adds so the same file boots as a disk
        data[446:462] = struct.pack("<BBBBBBBBII", 0x80, 0, 2, 0, 0x17, 0xFE, 0xFF, 0xFF, 0, blocks * 4)
        data[510:512] = b"\x55\xaa"
    pvd = 16 * ISO_BLOCK
    claimed = claimed_blocks or blocks
    data[pvd : pvd + 7] = b"\x01CD001\x01"
    data[pvd + 40 : pvd + 72] = b"POCKETSTACK".ljust(32)
    data[pvd + 80 : pvd + 88] = struct.pack("<I", claimed) + struct.pack(">I", claimed)
    data[pvd + 128 : pvd + 132] = struct.pack("<H", ISO_BLOCK) + struct.pack(">H", ISO_BLOCK)
    data[pvd + ISO_BLOCK : pvd + ISO_BLOCK + 7] = b"\xffCD001\x01"
    return bytes(data)


def gpt_disk(tmp: Path) -> Path:
    """A raw disk with a protective MBR, a GPT header and one Linux partition entry."""
    sectors = SIZE // 512
    entries = bytearray(128 * 128)
    entries[0:56] = (
        uuid.UUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4").bytes_le + uuid.uuid4().bytes_le + struct.pack("<QQQ", 2048, sectors - 34, 0)
    )
    header = bytearray(
        struct.pack(
            "<8sIIIIQQQQ16sQIII",
            b"EFI PART",
            0x10000,
            92,
            0,
            0,
            1,
            sectors - 1,
            34,
            sectors - 34,
            uuid.uuid4().bytes_le,
            2,
            128,
            128,
            zlib.crc32(entries),
        )
    )
    struct.pack_into("<I", header, 16, zlib.crc32(header))
    mbr = bytearray(512)
    mbr[446:462] = struct.pack("<BBBBBBBBII", 0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF, 1, sectors - 1)
    mbr[510:512] = b"\x55\xaa"
    path = tmp / "gpt.raw"
    with open(path, "wb") as disk:
        disk.truncate(SIZE)
        disk.write(bytes(mbr) + bytes(header).ljust(512, b"\0") + bytes(entries))
    return path


def vmdk_with_descriptor(tmp: Path, descriptor: str, *, capacity: int | None = None) -> Path:
    """A qemu-made monolithicSparse VMDK whose embedded descriptor (and capacity) we replace."""
    path = created(tmp, "vmdk")
    with open(path, "rb") as image:
        desc_sector, desc_sectors = struct.unpack("<QQ", image.read(44)[28:44])
    patched(path, desc_sector * 512, descriptor.encode().ljust(desc_sectors * 512, b"\0"))
    if capacity is not None:
        patched(path, 12, struct.pack("<Q", capacity))
    return path


def vmdk_descriptor(create_type: str, extent: str, extra: str = "") -> str:
    return f'# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n{extra}createType="{create_type}"\n\n{extent}\n'


def stream_optimized_with_footer(tmp: Path) -> Path:
    """streamOptimized as VMware writes it in one pass: the real header in a footer at the end."""
    path = converted(tmp, "vmdk", "-o", "subformat=streamOptimized")
    header = path.read_bytes()[:512]
    marker = struct.pack("<QII", 0, 0, 3).ljust(512, b"\0")
    end_of_stream = bytes(512)
    with open(path, "ab") as image:
        image.write(marker + header + end_of_stream)
    return patched(path, 56, struct.pack("<Q", 0xFFFFFFFFFFFFFFFF))


def qcow2_v3_field(path: Path, offset: int, value: int) -> Path:
    return patched(path, offset, struct.pack(">Q", value))


def vhd_footers(path: Path, offset_in_footer: int, data: bytes) -> Path:
    """Patch the footer of a dynamic VHD in both its copies (start and end of the file)."""
    patched(path, offset_in_footer, data)
    return patched(path, path.stat().st_size - 512 + offset_in_footer, data)


# --- accepted images ----------------------------------------------------------------------------

Builder = Callable[[Path], tuple[Path, int]]


def file_sized(path: Path) -> tuple[Path, int]:
    return path, path.stat().st_size


ACCEPTED: dict[str, tuple[Builder, str]] = {
    "raw": (lambda d: (created(d, "raw"), SIZE), "raw"),
    "raw-empty": (lambda d: (written(d, b""), 0), "raw"),
    "gpt-disk-is-raw": (lambda d: (gpt_disk(d), SIZE), "raw"),
    "kernel-as-aki": (lambda d: file_sized(written(d, os.urandom(70_000))), "aki"),
    "ramdisk-as-ari": (lambda d: file_sized(written(d, os.urandom(5_000))), "ari"),
    "disk-as-ami": (lambda d: (gpt_disk(d), SIZE), "ami"),
    "qcow2": (lambda d: (created(d, "qcow2"), SIZE), "qcow2"),
    "qcow2-v2": (lambda d: (created(d, "qcow2", "-o", "compat=0.10"), SIZE), "qcow2"),
    "qcow2-compressed": (lambda d: (converted(d, "qcow2", "-c"), SIZE), "qcow2"),
    "qcow2-64GiB-sparse": (lambda d: (created_sized(d, "qcow2", 64 << 30), 64 << 30), "qcow2"),
    "vmdk-monolithicSparse": (lambda d: (converted(d, "vmdk"), SIZE), "vmdk"),
    "vmdk-streamOptimized": (lambda d: (converted(d, "vmdk", "-o", "subformat=streamOptimized"), SIZE), "vmdk"),
    "vmdk-streamOptimized-footer": (lambda d: (stream_optimized_with_footer(d), SIZE), "vmdk"),
    "vdi": (lambda d: (converted(d, "vdi"), SIZE), "vdi"),
    "vdi-static": (lambda d: (created(d, "vdi", "-o", "static=on"), SIZE), "vdi"),
    "vhd-dynamic": (lambda d: (converted(d, "vpc", "-o", "force_size=on"), SIZE), "vhd"),
    "vhd-fixed": (lambda d: (converted(d, "vpc", "-o", "subformat=fixed,force_size=on"), SIZE), "vhd"),
    "vhdx": (lambda d: (converted(d, "vhdx"), SIZE), "vhdx"),
    "ploop": (lambda d: (created(d, "parallels"), SIZE), "ploop"),
    "iso": (lambda d: file_sized(written(d, iso_bytes(), "cd.iso")), "iso"),
    "iso-hybrid-with-mbr": (lambda d: file_sized(written(d, iso_bytes(mbr=True), "hybrid.iso")), "iso"),
}


def created_sized(tmp: Path, fmt: str, size: int) -> Path:
    path = tmp / f"sized.{fmt}"
    qemu_img("create", "-q", "-f", fmt, path, str(size))
    return path


@pytest.mark.parametrize("case", ACCEPTED.keys())
def test_accepted_image_reports_its_format_and_virtual_size(tmp_path: Path, case: str) -> None:
    build, declared = ACCEPTED[case]
    path, virtual_size = build(tmp_path)
    expected_format = "raw" if declared in ("raw", "ami", "ari", "aki") else declared
    assert inspect(path, declared) == Inspection(format=expected_format, virtual_size=virtual_size)


def test_vhd_sized_by_chs_geometry_agrees_with_qemu(tmp_path: Path) -> None:
    """VHDs from Virtual PC (and qemu without force_size) are sized by their CHS geometry, not the footer's size."""
    path = created(tmp_path, "vpc")
    info = json.loads(subprocess.run(["qemu-img", "info", "-f", "vpc", "--output=json", path], capture_output=True, check=True).stdout)
    assert info["virtual-size"] != SIZE  # CHS rounding really happened
    assert inspect(path, "vhd") == Inspection("vhd", info["virtual-size"])


def test_inspection_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = converted(tmp_path, "qcow2")
    before = path.read_bytes()
    inspect(path, "qcow2")
    assert path.read_bytes() == before


# --- refused images -----------------------------------------------------------------------------

REFUSED: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    # content of another format than declared
    "raw-declared-but-qcow2": (lambda d: created(d, "qcow2"), "raw", "in qcow2 format, but its disk_format is raw"),
    "raw-declared-but-vmdk": (lambda d: created(d, "vmdk"), "raw", "in vmdk format"),
    "raw-declared-but-vhd-fixed": (lambda d: converted(d, "vpc", "-o", "subformat=fixed,force_size=on"), "raw", "in vhd format"),
    "raw-declared-but-iso": (lambda d: written(d, iso_bytes()), "raw", "in iso format"),
    "raw-declared-but-vmdk-text-descriptor": (
        lambda d: written(d, b'# a comment\n\nversion=1\nRW 8 FLAT "/etc/passwd" 0\n'),
        "raw",
        "in vmdk format",
    ),
    "ami-declared-but-qcow2": (lambda d: created(d, "qcow2"), "ami", "in qcow2 format"),
    "qcow2-declared-but-raw": (lambda d: written(d, os.urandom(100_000)), "qcow2", "in raw format, but its disk_format is qcow2"),
    "qcow2-declared-but-iso": (lambda d: written(d, iso_bytes()), "qcow2", "in iso format"),
    "qcow2-declared-but-gpt": (gpt_disk, "qcow2", "in raw format"),
    "iso-declared-but-raw": (lambda d: written(d, os.urandom(100_000)), "iso", "in raw format"),
    "vhd-declared-but-vhdx": (lambda d: created(d, "vhdx"), "vhd", "in vhdx format"),
    # formats QEMU would open but this cloud never accepts
    "qed": (lambda d: created(d, "qed"), "qcow2", "QED"),
    "qed-as-raw": (lambda d: created(d, "qed"), "raw", "QED"),
    "luks": (lambda d: written(d, b"LUKS\xba\xbe\x00\x01".ljust(4096, b"\0")), "raw", "LUKS"),
    "qcow-version-1": (lambda d: patched(created(d, "qcow2"), 4, struct.pack(">I", 1)), "qcow2", "qcow version 1"),
    # qcow2 pointing outside itself (CVE-2022-47951 / CVE-2024-32498)
    "qcow2-backing-file": (lambda d: backed_qcow2(d, "/etc/passwd"), "qcow2", "backing file"),
    "qcow2-data-file": (lambda d: created(d, "qcow2", "-o", f"data_file={d / 'outside.raw'}"), "qcow2", "external data file"),
    "qcow2-data-file-extension-only": (
        lambda d: qcow2_v3_field(created(d, "qcow2", "-o", f"data_file={d / 'outside.raw'}"), 72, 0),
        "qcow2",
        "external data file",
    ),
    "qcow2-unknown-incompatible-feature": (lambda d: qcow2_v3_field(created(d, "qcow2"), 72, 1 << 12), "qcow2", "incompatible features"),
    "qcow2-marked-corrupt": (lambda d: qcow2_v3_field(created(d, "qcow2"), 72, 1 << 1), "qcow2", "marked corrupt"),
    "qcow2-encrypted": (lambda d: patched(created(d, "qcow2"), 32, struct.pack(">I", 2)), "qcow2", "Encrypted"),
    # malformed or truncated qcow2
    "qcow2-header-truncated": (lambda d: truncated(created(d, "qcow2"), 60), "qcow2", "truncated"),
    "qcow2-l1-table-beyond-end": (lambda d: truncated(created(d, "qcow2"), 3 * 65536), "qcow2", "L1 table would lie beyond the end"),
    "qcow2-refcount-table-beyond-end": (
        lambda d: patched(created(d, "qcow2"), 48, struct.pack(">Q", 1 << 40)),
        "qcow2",
        "refcount table would lie beyond the end",
    ),
    "qcow2-bad-cluster-bits": (lambda d: patched(created(d, "qcow2"), 20, struct.pack(">I", 30)), "qcow2", "cluster_bits"),
    # only qemu-img notices this one: an L1 table far too small for a 1 TiB disk
    "qcow2-l1-too-small-for-size": (lambda d: patched(created(d, "qcow2"), 24, struct.pack(">Q", 1 << 40)), "qcow2", "qemu-img"),
    # VMDK naming other files
    "vmdk-text-monolithicFlat-etc-passwd": (
        lambda d: written(d, vmdk_descriptor("monolithicFlat", 'RW 8 FLAT "/etc/passwd" 0').encode()),
        "vmdk",
        "descriptor files",
    ),
    "vmdk-twoGbMaxExtentSparse-descriptor": (
        lambda d: created(d, "vmdk", "-o", "subformat=twoGbMaxExtentSparse"),
        "vmdk",
        "descriptor files",
    ),
    "vmdk-twoGbMaxExtentSparse-extent": (lambda d: twogb_extent(d), "vmdk", "no embedded descriptor"),
    "vmdk-no-capacity-embedded-flat-extent": (
        lambda d: vmdk_with_descriptor(d, vmdk_descriptor("monolithicFlat", 'RW 8 FLAT "/etc/passwd" 0'), capacity=0),
        "vmdk",
        "declares no capacity",
    ),
    "vmdk-embedded-monolithicFlat": (
        lambda d: vmdk_with_descriptor(d, vmdk_descriptor("monolithicFlat", 'RW 8 FLAT "/etc/passwd" 0')),
        "vmdk",
        "of type 'monolithicFlat'",
    ),
    "vmdk-sparse-extent-with-path": (
        lambda d: vmdk_with_descriptor(d, vmdk_descriptor("monolithicSparse", 'RW 8192 SPARSE "/srv/images/other"')),
        "vmdk",
        "names extents other than the file itself",
    ),
    "vmdk-two-extents": (
        lambda d: vmdk_with_descriptor(d, vmdk_descriptor("monolithicSparse", 'RW 8192 SPARSE "a.vmdk"\nRW 8192 SPARSE "b.vmdk"')),
        "vmdk",
        "names extents other than the file itself",
    ),
    "vmdk-parent-hint": (
        lambda d: vmdk_with_descriptor(
            d, vmdk_descriptor("monolithicSparse", 'RW 8192 SPARSE "x.vmdk"', 'parentFileNameHint="/etc/passwd"\n')
        ),
        "vmdk",
        "parent (backing) disk",
    ),
    "vmdk-parent-hint-hidden-in-ddb": (
        # QEMU finds the hint by substring search, so a ddb value carrying it still sets a backing file
        lambda d: vmdk_with_descriptor(
            d, vmdk_descriptor("monolithicSparse", 'RW 8192 SPARSE "x.vmdk"\nddb.comment = "parentFileNameHint="/etc/passwd""')
        ),
        "vmdk",
        "parent (backing) disk",
    ),
    "vmdk-parent-cid": (
        lambda d: vmdk_with_descriptor(d, vmdk_descriptor("monolithicSparse", 'RW 8192 SPARSE "x.vmdk"').replace("ffffffff", "0000abcd")),
        "vmdk",
        "parent (backing) disk",
    ),
    "vmdk-unknown-descriptor-line": (
        lambda d: vmdk_with_descriptor(d, vmdk_descriptor("monolithicSparse", 'RW 8192 SPARSE "x.vmdk"', "something odd\n")),
        "vmdk",
        "line this cloud does not accept",
    ),
    "vmdk-esx-cowd": (lambda d: written(d, b"COWD".ljust(4096, b"\0")), "vmdk", "COW"),
    # other formats' parents, truncation and impossible headers
    "vhd-differencing": (
        lambda d: vhd_footers(converted(d, "vpc", "-o", "force_size=on"), 60, struct.pack(">I", 4)),
        "vhd",
        "Differencing VHD",
    ),
    "vhd-fixed-truncated": (
        lambda d: fixed_vhd_cut(converted(d, "vpc", "-o", "subformat=fixed,force_size=on")),
        "vhd",
        "truncated",
    ),
    "vdi-static-truncated": (lambda d: truncated(created(d, "vdi", "-o", "static=on"), SIZE // 2), "vdi", "truncated"),
    "vdi-differencing": (lambda d: patched(converted(d, "vdi"), 0x4C, struct.pack("<I", 4)), "vdi", "Differencing and undo VDI"),
    "vhdx-truncated": (lambda d: truncated(created(d, "vhdx"), 200 * 1024), "vhdx", "truncated"),
    "iso-truncated": (lambda d: written(d, iso_bytes(24, claimed_blocks=1000)), "iso", "truncated"),
}


def backed_qcow2(tmp: Path, backing: str) -> Path:
    path = tmp / "backed.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", backing, "-F", "raw", path)
    return path


def twogb_extent(tmp: Path) -> Path:
    created(tmp, "vmdk", "-o", "subformat=twoGbMaxExtentSparse")
    return next(tmp.glob("*-s001.vmdk"))


def fixed_vhd_cut(path: Path) -> Path:
    """Drop half the data but keep the footer at the end, where a fixed VHD has it."""
    data = path.read_bytes()
    return written(path.parent, data[: SIZE // 2] + data[-512:], "cut.vhd")


@pytest.mark.parametrize("case", REFUSED.keys())
def test_unsafe_or_mismatched_image_is_refused(tmp_path: Path, case: str) -> None:
    build, declared, reason = REFUSED[case]
    path = build(tmp_path)
    with pytest.raises(ImageRejected) as refused:
        inspect(path, declared)
    assert reason in str(refused.value)
    assert str(tmp_path) not in str(refused.value)  # server-side paths never reach the user


def test_unknown_disk_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageRejected, match="Unknown disk_format"):
        inspect(written(tmp_path, b"x"), "floppy")


def test_format_mismatch_can_be_allowed_but_content_is_still_checked(tmp_path: Path) -> None:
    """Glance's require_image_format_match=false: the real format is reported and still safety checked."""
    assert inspect(created(tmp_path, "qcow2"), "raw", require_format_match=False) == Inspection("qcow2", SIZE)
    with pytest.raises(ImageRejected, match="backing file"):
        inspect(backed_qcow2(tmp_path, "/etc/passwd"), "raw", require_format_match=False)
    with pytest.raises(ImageRejected, match="QED"):
        inspect(created(tmp_path, "qed"), "qcow2", require_format_match=False)


# --- qemu-img: the second, independent line of defence ------------------------------------------


def unsafe_for_qemu(tmp: Path, kind: str) -> Path:
    secret = tmp / "host-secret"
    secret.write_bytes(b"secret" * 100)
    if kind == "backing file":
        return backed_qcow2(tmp, str(secret))
    if kind == "data file":
        return created(tmp, "qcow2", "-o", f"data_file={secret}")
    return vmdk_with_descriptor(tmp, vmdk_descriptor("monolithicFlat", f'RW 1 FLAT "{secret}" 0'), capacity=0)


@pytest.mark.parametrize(("kind", "disk_format"), [("backing file", "qcow2"), ("data file", "qcow2"), ("flat extent", "vmdk")])
def test_qemu_img_check_refuses_images_that_open_other_files(tmp_path: Path, kind: str, disk_format: str) -> None:
    """Even if header parsing missed it, what qemu-img reports about the image is refused."""
    with pytest.raises(ImageRejected):
        formats._check_with_qemu_img(unsafe_for_qemu(tmp_path, kind).absolute(), disk_format)


def test_qemu_img_is_always_told_the_format(tmp_path: Path) -> None:
    """A fixed VHD probes as raw; read as vhd (QEMU's vpc) it has the size its footer declares."""
    path = converted(tmp_path, "vpc", "-o", "subformat=fixed,force_size=on")
    assert formats._check_with_qemu_img(path.absolute(), "vhd") == SIZE
    assert formats._check_with_qemu_img(path.absolute(), "raw") == SIZE + 512


# --- names and conversion -----------------------------------------------------------------------


def qemu_img_drivers() -> set[str]:
    help_text = subprocess.run(["qemu-img", "--help"], capture_output=True, text=True).stdout
    return set(help_text.split("Supported formats:", 1)[1].split())


@pytest.mark.parametrize("disk_format", DISK_FORMATS)
def test_every_disk_format_maps_to_a_qemu_driver(disk_format: str) -> None:
    assert qemu_format(disk_format) in qemu_img_drivers()


@pytest.mark.parametrize(("glance", "qemu"), [("vhd", "vpc"), ("ploop", "parallels"), ("iso", "raw"), ("aki", "raw"), ("qcow2", "qcow2")])
def test_qemu_names_differ_where_qemu_differs(glance: str, qemu: str) -> None:
    assert qemu_format(glance) == qemu


def test_qemu_format_of_unknown_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        qemu_format("vpc")


@pytest.mark.parametrize("target", ["raw", "qcow2", "vhd", "vmdk"])
def test_convert_keeps_the_disk_contents(tmp_path: Path, target: str) -> None:
    source = converted(tmp_path, "qcow2", "-c")
    dest = tmp_path / "out"
    convert(source, dest, "qcow2", target)
    assert inspect(dest, target).virtual_size == SIZE
    subprocess.run(["qemu-img", "compare", "-q", "-f", qemu_format(target), "-F", "raw", dest, data_disk(tmp_path)], check=True)


def test_convert_refuses_an_unsafe_source_and_writes_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "out.raw"
    with pytest.raises(ImageRejected, match="backing file"):
        convert(backed_qcow2(tmp_path, "/etc/passwd"), dest, "qcow2", "raw")
    assert not dest.exists()


def test_convert_failure_removes_the_partial_output(tmp_path: Path) -> None:
    dest = tmp_path / "missing-dir" / "out.qcow2"
    with pytest.raises(ImageRejected, match="qemu-img") as refused:
        convert(created(tmp_path, "raw"), dest, "raw", "qcow2")
    assert not dest.exists()
    assert str(tmp_path) not in str(refused.value)


def test_qemu_img_runs_under_cpu_and_memory_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limits are set in the child before it becomes the tool (here a shell that reports them)."""
    monkeypatch.setattr(formats.shutil, "which", lambda name: "/bin/sh")
    reported = formats._run_qemu_img(["-c", "ulimit -t; ulimit -v"], cpu_seconds=7, timeout=30, hide=())
    assert reported.split() == [str(7), str(formats.QEMU_IMG_ADDRESS_SPACE // 1024)]


def test_qemu_img_that_hangs_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats.shutil, "which", lambda name: "/bin/sh")
    with pytest.raises(ImageRejected, match="too long"):
        formats._run_qemu_img(["-c", "sleep 60"], cpu_seconds=7, timeout=1, hide=())
