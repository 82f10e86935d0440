"""The acceleration probe: KVM only after a probe boot proved it, its verdict boots guests, it is cached per host."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pocketstack.drivers.compute import accel
from pocketstack.drivers.compute.accel import Acceleration, kvm_device_problem, probe_acceleration, probe_kvm_boot, qemu_accel_args
from tests.e2e.conftest import needs_qemu

BOOT_DEADLINE_S = 180  # TCG on a busy 2-core machine; a healthy boot takes well under 20 s

pytestmark = needs_qemu


class StartedProcesses:
    """Every process started through subprocess.Popen during a test, so none may outlive it."""

    def __init__(self) -> None:
        self.started: list[tuple[int, list[str]]] = []

    def qemu_pids(self, accel_kind: str | None = None) -> list[int]:
        return [
            pid
            for pid, argv in self.started
            if argv and argv[0].endswith("qemu-system-x86_64") and "--version" not in argv
            if accel_kind is None or argv[argv.index("-accel") + 1] == accel_kind
        ]


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[StartedProcesses]:
    record = StartedProcesses()
    real_popen = subprocess.Popen

    class RecordingPopen(real_popen):
        def __init__(self, args, *more, **kwargs) -> None:
            super().__init__(args, *more, **kwargs)
            record.started.append((self.pid, [str(arg) for arg in args]))

    monkeypatch.setattr(subprocess, "Popen", RecordingPopen)
    yield record
    left = [pid for pid in record.qemu_pids() if _is_running_qemu(pid)]
    assert not left, f"qemu processes left running: {left}"


def _is_running_qemu(pid: int) -> bool:
    try:
        return b"qemu-system" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.fixture
def probe_runs(monkeypatch: pytest.MonkeyPatch) -> list[Acceleration]:
    """Verdicts actually decided (device check and probe boot), as opposed to read from the cache."""
    decided: list[Acceleration] = []
    real_decide = accel._decide

    def counting_decide(*args, **kwargs) -> Acceleration:
        decided.append(real_decide(*args, **kwargs))
        return decided[-1]

    monkeypatch.setattr(accel, "_decide", counting_decide)
    return decided


def boot_to_marker(image: Path, workdir: Path, acceleration: Acceleration) -> str:
    """Boot the test guest with the driver's accelerator arguments; its console once the boot marker is there."""
    overlay, console = workdir / "disk.qcow2", workdir / "console.log"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image), "-F", "qcow2", str(overlay)], check=True)
    argv = [
        "qemu-system-x86_64", *qemu_accel_args(acceleration), "-machine", "pc", "-m", "128", "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none", "-no-reboot",
        "-drive", f"file={overlay},format=qcow2,if=virtio",
        "-chardev", f"file,id=console,path={console}", "-serial", "chardev:console",
    ]  # fmt: skip
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marker = re.compile(rf"^{re.escape(accel.BOOT_LINE)}\r?$", re.MULTILINE)
    try:
        deadline = time.monotonic() + BOOT_DEADLINE_S
        while time.monotonic() < deadline:
            log = console.read_text(errors="replace") if console.exists() else ""
            if marker.search(log):
                return log
            if process.poll() is not None:
                pytest.fail(f"qemu exited ({process.returncode}): {process.stderr.read().decode()}\n{log}")
            time.sleep(0.25)
        pytest.fail(f"{acceleration}: no {accel.BOOT_LINE!r} within {BOOT_DEADLINE_S} s")
    finally:
        if process.poll() is None:
            process.kill()  # our own child, by its pid
        process.wait(timeout=30)
        process.stderr.close()


def test_verdict_is_explained_and_boots_the_guest(guest_image: Path, tmp_path: Path, processes: StartedProcesses) -> None:
    workdir = tmp_path / "probe"
    verdict = probe_acceleration(guest_image, workdir, cache_file=tmp_path / "accel.json")

    assert verdict.kind in {"kvm", "tcg"}
    assert verdict.reason.strip()
    device_problem = kvm_device_problem()
    if device_problem is not None:
        assert verdict == Acceleration("tcg", device_problem)
        assert processes.qemu_pids() == []  # no point booting without a usable /dev/kvm
    else:
        assert len(processes.qemu_pids("kvm")) == 1  # the verdict comes from a real KVM boot
        assert verdict.reason.startswith("KVM probe")
    assert list(workdir.iterdir()) == []  # the probe's overlay and logs are gone

    boot_dir = tmp_path / "boot"
    boot_dir.mkdir()
    boot_to_marker(guest_image, boot_dir, verdict)


def test_cached_verdict_is_reused_until_forced(guest_image: Path, tmp_path: Path, processes: StartedProcesses, probe_runs: list) -> None:
    cache_file = tmp_path / "state" / "accel.json"
    first = probe_acceleration(guest_image, tmp_path, cache_file=cache_file)
    cached = json.loads(cache_file.read_text())
    assert (cached["kind"], cached["reason"]) == (first.kind, first.reason)
    assert cached["host"] == accel.host_key()
    assert len(probe_runs) == 1
    qemu_started = len(processes.qemu_pids())

    again = probe_acceleration(guest_image, tmp_path, cache_file=cache_file)
    assert again == first
    assert len(probe_runs) == 1  # read from the cache: no device check, no boot
    assert len(processes.qemu_pids()) == qemu_started

    forced = probe_acceleration(guest_image, tmp_path, cache_file=cache_file, force=True)
    assert len(probe_runs) == 2
    assert forced.kind == first.kind
    assert json.loads(cache_file.read_text())["reason"] == forced.reason
    if kvm_device_problem() is None:
        assert len(processes.qemu_pids("kvm")) == 2  # forcing booted the probe guest again


@pytest.mark.parametrize(
    "stale",
    [
        "not json{",
        json.dumps({"format": accel.CACHE_FORMAT, "host": {"boot_id": "an earlier boot"}, "kind": "kvm", "reason": "old"}),
        json.dumps({"format": accel.CACHE_FORMAT, "kind": "warp-drive", "reason": "bogus"}),
    ],
    ids=["corrupt", "other-host-boot", "unknown-kind"],
)
def test_stale_or_broken_cache_is_probed_again_and_replaced(
    guest_image: Path, tmp_path: Path, processes: StartedProcesses, probe_runs: list, stale: str
) -> None:
    cache_file = tmp_path / "accel.json"
    cache_file.write_text(stale)
    verdict = probe_acceleration(guest_image, tmp_path / "probe", cache_file=cache_file)
    assert len(probe_runs) == 1
    replaced = json.loads(cache_file.read_text())
    assert replaced["host"] == accel.host_key()
    assert (replaced["kind"], replaced["reason"]) == (verdict.kind, verdict.reason)


def test_probe_gives_up_at_its_timeout_and_cleans_up(guest_image: Path, tmp_path: Path, processes: StartedProcesses) -> None:
    if kvm_device_problem() is not None:
        pytest.skip(f"no KVM boot to time out: {kvm_device_problem()}")
    verdict = probe_kvm_boot(guest_image, tmp_path, timeout=0)  # no guest reaches its marker in 0 s
    assert verdict.kind == "tcg"
    assert verdict.reason.startswith("KVM probe")
    assert len(processes.qemu_pids("kvm")) == 1
    assert list(tmp_path.iterdir()) == []


def test_unusable_kvm_device_is_explained(tmp_path: Path) -> None:
    assert kvm_device_problem(tmp_path / "kvm") == f"no {tmp_path / 'kvm'}"
    problem = kvm_device_problem(Path("/dev/null"))  # opens read-write but is no KVM device
    assert problem is not None and problem.startswith("/dev/null not usable: ")


def test_missing_image_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe_kvm_boot(tmp_path / "absent.qcow2", tmp_path)


def test_accelerator_arguments() -> None:
    assert qemu_accel_args(Acceleration("kvm", "probe boot reached the marker")) == ["-accel", "kvm", "-cpu", "host"]
    tcg = qemu_accel_args(Acceleration("tcg", "no /dev/kvm"))
    assert tcg[:2] == ["-accel", "tcg"]
    assert tcg[2:] == ["-cpu", accel.TCG_CPU_MODEL]
