"""Which accelerator the QEMU driver may use: KVM only once a probe boot has proven it works, else TCG.

A readable /dev/kvm is not enough. Inside a VM whose hypervisor supports nested virtualization
badly, /dev/kvm opens and answers ioctls, yet guests never run: on this project's development
machine QEMU stops the guest in SeaBIOS with "KVM internal error. Suberror: 1 ... emulation
failure" and the serial console stays empty forever. So the verdict comes from booting the test
guest under KVM and waiting for its first console marker. The probe costs a boot, so its verdict
is cached in a JSON file keyed by what could change it: the host's boot, its kernel and QEMU.

Measured here (2 cores, QEMU 7.2, guest marker ``POCKETSTACK-GUEST: booted``): under TCG the
marker comes 3.9-6.6 s after exec (about 4 CPU-s); under nested KVM QEMU reports the internal
error 1.9-3.4 s after exec (the probe stops there) and the marker never comes, not in 30 s either.
Working KVM should boot it in about a second (not measurable here); a KVM boot slower than TCG's gains nothing,
hence the default timeout below.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from pocketstack.guest.scripts import MARKER

QEMU_BINARY = "qemu-system-x86_64"
KVM_DEVICE = Path("/dev/kvm")
KVM_GET_API_VERSION = 0xAE00  # _IO(KVMIO, 0x00)
KVM_API_VERSION = 12  # the only stable KVM API; QEMU refuses any other
PROBE_TIMEOUT_S = 10.0  # about twice TCG's boot to the marker here
TCG_CPU_MODEL = "max"  # every feature TCG emulates; qemu64 lacks x86-64-v2, which RHEL 9 guests need
BOOT_LINE = f"{MARKER} booted"
CACHE_FORMAT = 1

Kind = Literal["kvm", "tcg"]


@dataclass(frozen=True)
class Acceleration:
    """The accelerator to use and, for logs and os-hypervisors, why."""

    kind: Kind
    reason: str


def qemu_accel_args(acceleration: Acceleration) -> list[str]:
    """The accelerator and CPU model part of a qemu-system-x86_64 command line."""
    if acceleration.kind == "kvm":
        return ["-accel", "kvm", "-cpu", "host"]
    return ["-accel", "tcg", "-cpu", TCG_CPU_MODEL]


def probe_acceleration(
    image: Path,
    workdir: Path,
    *,
    timeout: float = PROBE_TIMEOUT_S,
    cache_file: Path | None = None,
    force: bool = False,
    qemu: str = QEMU_BINARY,
) -> Acceleration:
    """KVM if /dev/kvm is usable and the test guest `image` boots under it within `timeout`, else TCG.

    With `cache_file`, a verdict from the same host boot, kernel and QEMU is reused unless `force`.
    The probe's overlay and logs live in a temporary directory under `workdir`, removed afterwards.
    """
    if cache_file is None:
        return _decide(Path(image), Path(workdir), timeout, qemu)
    cache_file = Path(cache_file)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    key = host_key(qemu)
    with _exclusive(cache_file.with_name(cache_file.name + ".lock")):  # concurrent agents probe once
        cached = None if force else read_cached_verdict(cache_file, key)
        if cached is not None:
            return cached
        verdict = _decide(Path(image), Path(workdir), timeout, qemu)
        _write_atomically(cache_file, json.dumps({"format": CACHE_FORMAT, "host": key, **asdict(verdict)}, indent=2) + "\n")
        return verdict


def _decide(image: Path, workdir: Path, timeout: float, qemu: str) -> Acceleration:
    problem = kvm_device_problem()
    if problem is not None:
        return Acceleration("tcg", problem)
    return probe_kvm_boot(image, workdir, timeout=timeout, qemu=qemu)


def kvm_device_problem(device: Path = KVM_DEVICE) -> str | None:
    """Why `device` cannot serve QEMU, or None if it opens read-write and speaks the KVM API."""
    if not device.exists():
        return f"no {device}"
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as error:
        return f"{device} not usable: {error.strerror}"
    try:
        api_version = fcntl.ioctl(fd, KVM_GET_API_VERSION)
    except OSError as error:
        return f"{device} not usable: KVM_GET_API_VERSION failed: {error.strerror}"
    finally:
        os.close(fd)
    if api_version != KVM_API_VERSION:
        return f"{device} not usable: KVM API version {api_version}, QEMU needs {KVM_API_VERSION}"
    return None


def probe_kvm_boot(image: Path, workdir: Path, *, timeout: float = PROBE_TIMEOUT_S, qemu: str = QEMU_BINARY) -> Acceleration:
    """Boot `image` under KVM on a throw-away overlay and watch its serial console for the boot marker."""
    if not image.is_file():
        raise FileNotFoundError(f"test guest image {image} does not exist")
    workdir.mkdir(parents=True, exist_ok=True)
    rundir = Path(tempfile.mkdtemp(prefix="accel-probe-", dir=workdir))
    process: subprocess.Popen | None = None
    try:
        overlay, console, stderr_path = rundir / "disk.qcow2", rundir / "console.log", rundir / "qemu.stderr"
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image.resolve()), "-F", "qcow2", str(overlay)],
            check=True,
            capture_output=True,
        )
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                _probe_argv(qemu, overlay, console), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        return _watch(process, console, stderr_path, timeout)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(rundir, ignore_errors=True)


def _probe_argv(qemu: str, overlay: Path, console: Path) -> list[str]:
    return [
        qemu, "-name", "pocketstack-accel-probe",
        *qemu_accel_args(Acceleration("kvm", "candidate")),
        "-machine", "pc", "-m", "128", "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none", "-no-reboot",
        "-blockdev", f"driver=file,node-name=disk-file,filename={overlay}",
        "-blockdev", "driver=qcow2,node-name=disk,file=disk-file",
        "-device", "virtio-blk-pci,drive=disk,bootindex=0",
        "-chardev", f"file,id=console,path={console}", "-serial", "chardev:console",
    ]  # fmt: skip


_BOOT_LINE = re.compile(rf"^{re.escape(BOOT_LINE)}\r?$", re.MULTILINE)


def _watch(process: subprocess.Popen, console: Path, stderr_path: Path, timeout: float) -> Acceleration:
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        if console.exists() and _BOOT_LINE.search(console.read_text(errors="replace")):
            return Acceleration("kvm", f"KVM probe boot reached the guest marker in {elapsed:.1f} s")
        stderr = stderr_path.read_text(errors="replace")
        if "KVM internal error" in stderr:  # QEMU has stopped the guest: it will never run on
            detail = "emulation failure" if "emulation failure" in stderr else _first_line(stderr)
            return Acceleration(
                "tcg", f"KVM probe boot failed after {elapsed:.1f} s: KVM internal error ({detail}; nested virtualization?)"
            )
        if process.poll() is not None:
            return Acceleration(
                "tcg", f"KVM probe qemu exited with status {process.returncode} after {elapsed:.1f} s: {_first_line(stderr)}"
            )
        if elapsed >= timeout:
            return Acceleration("tcg", f"KVM probe boot did not reach the guest marker within {timeout:g} s (nested virtualization?)")
        time.sleep(0.1)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no error output"


def _stop(process: subprocess.Popen) -> None:
    """Kill the probe qemu (our own child, by its pid) and reap it."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def host_key(qemu: str = QEMU_BINARY) -> dict[str, str]:
    """What a cached verdict depends on: this boot of the host (nested support can change with the
    outer hypervisor), the host kernel and the QEMU build."""
    version = subprocess.run([qemu, "--version"], check=True, capture_output=True, text=True).stdout
    return {"boot_id": _boot_id(), "kernel": os.uname().release, "qemu": _first_line(version)}


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # not Linux-like /proc: the kernel and QEMU still key the cache
        return "unknown"


def read_cached_verdict(cache_file: Path, key: dict[str, str]) -> Acceleration | None:
    """The verdict in `cache_file` if it was made for `key`; None if absent, stale or unreadable."""
    try:
        cached = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(cached, dict) or cached.get("format") != CACHE_FORMAT or cached.get("host") != key:
        return None
    kind, reason = cached.get("kind"), cached.get("reason")
    if kind not in ("kvm", "tcg") or not isinstance(reason, str) or not reason:
        return None
    return Acceleration(kind, reason)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
