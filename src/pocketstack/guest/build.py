"""Build the test guest image: a tiny CirrOS-like whole-disk qcow2 made from Debian packages.

The image is a FAT "superfloppy" (no partition table) that SeaBIOS boots through syslinux:
Debian's cloud kernel plus an initramfs holding static busybox, the kernel modules a
QEMU guest needs, and our /init (see scripts.py). Nothing is installed on the host: the
packages are fetched with `apt-get download` into the cache and unpacked with dpkg-deb.
Host tools: apt-get, dpkg-deb, mtools (mcopy, used by syslinux too), mkfs.vfat, qemu-img.
Neither loop devices nor mounts nor root are needed.

The result is cached under a content key: the package versions, BUILD_VERSION and the
embedded files, so a changed script or a kernel update rebuilds it.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pocketstack.guest import scripts

BUILD_VERSION = 4  # bump when the recipe changes in a way the key would not notice
IMAGE_NAME = "pocketstack-test-guest.qcow2"
KERNEL_META_PACKAGE = "linux-image-cloud-amd64"
BUSYBOX_PACKAGE = "busybox-static"
BOOTLOADER_PACKAGES = ("syslinux", "syslinux-common")  # the installer and its ldlinux.c32, same build
KERNEL_CMDLINE = "console=ttyS0,115200 panic=-1"


class GuestImageError(RuntimeError):
    """The image could not be built; the message says what is missing."""


def build_test_image(cache_dir: Path) -> Path:
    """Path of the test guest image in cache_dir, built first if it is missing or stale."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    image = cache_dir / IMAGE_NAME
    key_file = cache_dir / (IMAGE_NAME + ".key")
    with _exclusive(cache_dir / ".build.lock"):  # concurrent callers wait for one build
        versions = resolve_package_versions()
        key = content_key(versions)
        if image.exists() and key_file.exists() and key_file.read_text().strip() == key:
            return image
        debs = download_packages(versions, cache_dir / "debs")
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".build-") as tmp:
            work = Path(tmp)
            raw = assemble_boot_disk(debs, work)
            qcow2 = work / IMAGE_NAME
            _run(["qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)])
            os.replace(qcow2, image)  # a running guest keeps its old inode
        _write_atomically(key_file, key + "\n")
        return image


# ---- packages -------------------------------------------------------------------------------


def resolve_package_versions() -> dict[str, str]:
    """Package name -> candidate version for everything the image is made of."""
    try:
        return _resolve_package_versions()
    except GuestImageError:
        if os.geteuid() != 0:
            raise
    # empty or outdated package lists (fresh container): refresh once, as root
    _run(["apt-get", "update", "-qq"])
    return _resolve_package_versions()


def _resolve_package_versions() -> dict[str, str]:
    names = [_kernel_package(), BUSYBOX_PACKAGE, *BOOTLOADER_PACKAGES]
    versions = _candidate_versions(names)
    unknown = [name for name in names if name not in versions]
    if unknown:
        raise GuestImageError(f"apt has no candidate version of {', '.join(unknown)} (run apt-get update)")
    return {name: versions[name] for name in names}


def _kernel_package() -> str:
    # the meta package depends on the current versioned one, e.g. linux-image-6.1.0-56-cloud-amd64
    out = _run(["apt-cache", "depends", KERNEL_META_PACKAGE], check=False)
    for line in out.splitlines():
        name = line.strip().removeprefix("Depends:").strip()
        if line.strip().startswith("Depends:") and name.startswith("linux-image-"):
            return name
    raise GuestImageError(f"apt knows no {KERNEL_META_PACKAGE} (run apt-get update on a Debian host)")


def _candidate_versions(names: list[str]) -> dict[str, str]:
    """One `apt-cache policy` for all (each call reads the whole package lists)."""
    versions: dict[str, str] = {}
    package = None
    for line in _run(["apt-cache", "policy", *names], check=False).splitlines():
        if not line.startswith(" ") and line.endswith(":"):
            package = line[:-1]
        elif line.strip().startswith("Candidate:") and package:
            version = line.split(":", 1)[1].strip()
            if version and version != "(none)":
                versions[package] = version
    return versions


def content_key(versions: dict[str, str]) -> str:
    recipe = {
        "build_version": BUILD_VERSION,
        "packages": versions,
        "files": scripts.guest_files(),
        "cmdline": KERNEL_CMDLINE,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def download_packages(versions: dict[str, str], deb_dir: Path) -> dict[str, Path]:
    """Package name -> its .deb in deb_dir, downloaded unless that version is there already."""
    deb_dir.mkdir(parents=True, exist_ok=True)
    found = {name: _cached_deb(deb_dir, name, version) for name, version in versions.items()}
    missing = [f"{name}={versions[name]}" for name, deb in found.items() if deb is None]
    if missing:
        _run(["apt-get", "download", "-q", *missing], cwd=deb_dir)
    debs = {}
    for name, version in versions.items():
        deb = _cached_deb(deb_dir, name, version)
        if deb is None:
            raise GuestImageError(f"apt-get download left no {name} {version} in {deb_dir}")
        debs[name] = deb
    for stale in deb_dir.glob("*.deb"):  # older kernels are 27 MB each
        if stale not in debs.values():
            stale.unlink()
    return debs


def _cached_deb(deb_dir: Path, name: str, version: str) -> Path | None:
    for deb in deb_dir.glob(f"{name}_*.deb"):
        if _run(["dpkg-deb", "-f", str(deb), "Package", "Version"]).split() == ["Package:", name, "Version:", version]:
            return deb
    return None


# ---- assembly -------------------------------------------------------------------------------


def assemble_boot_disk(debs: dict[str, Path], work: Path) -> Path:
    """Unpack the packages in work and make the raw FAT boot disk; returns its path."""
    unpacked = work / "unpacked"
    for deb in debs.values():
        _run(["dpkg-deb", "-x", str(deb), str(unpacked)])
    busybox = _first_existing(unpacked, "bin/busybox", "usr/bin/busybox")
    module_root = _first_existing(unpacked, "lib/modules", "usr/lib/modules")
    kernel_release = _only_child(module_root).name
    kernel = _first_existing(unpacked, f"boot/vmlinuz-{kernel_release}")
    initrd = work / "initrd.gz"
    initrd.write_bytes(make_initramfs(busybox, module_root.parent.parent, kernel_release, work / "initramfs"))

    syslinux_cfg = work / "syslinux.cfg"
    syslinux_cfg.write_text(
        f"DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND {KERNEL_CMDLINE}\n"
    )
    disk = work / "disk.raw"
    payload = kernel.stat().st_size + initrd.stat().st_size
    size_kib = (payload // 1024 // 1024 + 2) * 1024  # whole MiB with about 1 MiB free for the guest
    _run(["mkfs.vfat", "-C", "-n", scripts.BOOT_DISK_LABEL, str(disk), str(size_kib)])
    syslinux = _first_existing(unpacked, "usr/bin/syslinux")
    _run([str(syslinux), "--install", str(disk)])  # writes the boot sector and ldlinux.sys (through mtools)
    # files are copied under the names syslinux.cfg uses
    staged = work / "fat"
    staged.mkdir()
    shutil.copy(kernel, staged / "vmlinuz")
    shutil.copy(initrd, staged / "initrd.gz")
    shutil.copy(syslinux_cfg, staged / "syslinux.cfg")
    shutil.copy(_first_existing(unpacked, "usr/lib/syslinux/modules/bios/ldlinux.c32"), staged / "ldlinux.c32")
    _run(["mcopy", "-o", "-i", str(disk), *(str(p) for p in sorted(staged.iterdir())), "::/"])
    return disk


def make_initramfs(busybox: Path, kernel_root: Path, kernel_release: str, stage: Path) -> bytes:
    """gzip'd newc cpio with busybox, our /init and the modules GUEST_MODULES need."""
    for name in ("bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "mnt", "root", "usr/bin", "usr/sbin"):
        (stage / name).mkdir(parents=True, exist_ok=True)
    shutil.copy(busybox, stage / "bin/busybox")
    (stage / "bin/busybox").chmod(0o755)
    (stage / "bin/sh").symlink_to("busybox")
    for rel, (text, mode) in scripts.guest_files().items():
        path = stage / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
    copy_modules(busybox, kernel_root, kernel_release, stage)
    return gzip.compress(newc_archive(stage), compresslevel=9, mtime=0)


def copy_modules(busybox: Path, kernel_root: Path, kernel_release: str, stage: Path) -> None:
    """The wanted modules and what they depend on, with a modules.dep for busybox modprobe."""
    source = kernel_root / "lib/modules" / kernel_release
    # the .deb ships no modules.dep: busybox's depmod writes one
    _run([str(busybox), "depmod", "-b", str(kernel_root), kernel_release])
    dependencies = _parse_modules_dep(source / "modules.dep")
    builtin = {_module_name(line) for line in (source / "modules.builtin").read_text().split()}
    wanted: list[str] = []
    for name in scripts.GUEST_MODULES:
        name = name.replace("-", "_")
        if name in builtin:
            continue
        if name not in dependencies:
            raise GuestImageError(f"kernel {kernel_release} has no module {name}")
        wanted.append(name)
    needed = _dependency_closure(wanted, dependencies)
    target = stage / "lib/modules" / kernel_release
    for rel_path in sorted(needed):
        (target / rel_path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / rel_path, target / rel_path)
    shutil.copy(source / "modules.builtin", target / "modules.builtin")  # modprobe of a builtin is then a no-op
    _run([str(busybox), "depmod", "-b", str(stage), kernel_release])


def _parse_modules_dep(path: Path) -> dict[str, tuple[str, list[str]]]:
    """module name -> (its path, paths it depends on)."""
    modules = {}
    for line in path.read_text().splitlines():
        if ":" not in line:
            continue
        module, deps = line.split(":", 1)
        modules[_module_name(module)] = (module.strip(), deps.split())
    return modules


def _dependency_closure(names: list[str], dependencies: dict[str, tuple[str, list[str]]]) -> set[str]:
    needed: set[str] = set()
    todo = [dependencies[name][0] for name in names]
    by_path = {path: deps for path, deps in dependencies.values()}
    while todo:
        path = todo.pop()
        if path not in needed:
            needed.add(path)
            todo.extend(by_path.get(path, []))
    return needed


def _module_name(path: str) -> str:
    name = Path(path.strip()).name
    for suffix in (".xz", ".zst", ".gz", ".ko"):
        name = name.removesuffix(suffix)
    return name.replace("-", "_")


def newc_archive(root: Path) -> bytes:
    """The tree under root as a newc cpio (what the kernel unpacks), owned by root, mtime 0."""
    chunks: list[bytes] = []
    inode = 1

    def add(name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        nonlocal inode
        encoded = name.encode() + b"\0"
        fields = (inode, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % value for value in fields)
        chunks.append(_pad4(header + encoded) + _pad4(data))
        inode += 1

    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        info = path.lstat()
        if path.is_symlink():
            add(name, info.st_mode, os.readlink(path).encode())
        elif path.is_dir():
            add(name, info.st_mode)
        else:
            add(name, info.st_mode, path.read_bytes())
    add("dev/console", 0o020600, rdev=(5, 1))  # the kernel opens it before /init runs
    add("TRAILER!!!", 0)
    return b"".join(chunks)


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


# ---- helpers --------------------------------------------------------------------------------


def _run(argv: list[str], *, cwd: Path | None = None, check: bool = True) -> str:
    env = {**os.environ, "LC_ALL": "C", "MTOOLS_SKIP_CHECK": "1"}
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise GuestImageError(f"{argv[0]} is not installed (scripts/setup installs what the guest build needs)") from None
    if check and done.returncode != 0:
        raise GuestImageError(f"{' '.join(argv)} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}")
    return done.stdout


def _first_existing(root: Path, *candidates: str) -> Path:
    for candidate in candidates:
        if (root / candidate).exists():
            return root / candidate
    raise GuestImageError(f"none of {', '.join(candidates)} in the unpacked packages")


def _only_child(directory: Path) -> Path:
    children = [child for child in directory.iterdir() if child.is_dir()]
    if len(children) != 1:
        raise GuestImageError(f"expected one kernel under {directory}, found {[c.name for c in children]}")
    return children[0]


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
