"""The test guest image boots under QEMU (TCG), reads a config drive, runs user_data, stops on ACPI."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pocketstack.drivers.compute.configdrive import build_config_drive, nova_meta_data
from pocketstack.guest import build_test_image
from pocketstack.guest.scripts import MARKER
from tests.e2e.conftest import needs_qemu

BOOT_DEADLINE_S = 180  # TCG on a busy 2-core machine; a healthy boot takes well under 20 s

pytestmark = needs_qemu


class Guest:
    """One qemu-system-x86_64 under TCG with no network, its serial console in a file."""

    def __init__(self, workdir: Path, disk: Path, config_drive: Path) -> None:
        self.console = workdir / "console.log"
        self.qmp_path = workdir / "qmp.sock"
        argv = [
            "qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-m", "128", "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none", "-no-reboot",
            "-blockdev", f"driver=file,node-name=disk-file,filename={disk}",
            "-blockdev", "driver=qcow2,node-name=disk,file=disk-file",
            "-device", "virtio-blk-pci,drive=disk,bootindex=0",
            "-drive", f"file={config_drive},format=raw,if=ide,media=cdrom,readonly=on",
            "-chardev", f"file,id=console,path={self.console}", "-serial", "chardev:console",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def log(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def wait_for(self, line: str) -> str:
        """The console log once it holds `line` (a whole line); fails if QEMU exits or time runs out."""
        pattern = re.compile(rf"^{re.escape(line)}\r?$", re.MULTILINE)
        deadline = time.monotonic() + BOOT_DEADLINE_S
        while time.monotonic() < deadline:
            log = self.log()
            if pattern.search(log):
                return log
            if self.process.poll() is not None:
                pytest.fail(f"qemu exited ({self.process.returncode}) before {line!r}: {self.process.stderr.read().decode()}\n{log}")
            time.sleep(0.25)
        pytest.fail(f"no {line!r} on the console within {BOOT_DEADLINE_S} s:\n{self.log()}")

    def press_power_button(self) -> None:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.qmp_path))
            replies = sock.makefile("rw")
            replies.readline()  # greeting
            for command in ("qmp_capabilities", "system_powerdown"):
                replies.write(json.dumps({"execute": command}) + "\n")
                replies.flush()
                while "return" not in (reply := json.loads(replies.readline())):
                    assert "error" not in reply, reply

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # our own child, by its pid
        self.process.wait(timeout=30)
        self.process.stderr.close()


@pytest.fixture
def guest_disk(guest_image: Path, tmp_path: Path) -> Path:
    """A copy-on-write overlay, as nova makes one: the guest writes its boot counter there, not into the cache."""
    overlay = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(guest_image), "-F", "qcow2", str(overlay)], check=True)
    return overlay


@pytest.fixture
def boot(tmp_path: Path, guest_disk: Path) -> Iterator:
    guests: list[Guest] = []

    def start(config_drive: Path) -> Guest:
        guests.append(Guest(tmp_path, guest_disk, config_drive))
        return guests[-1]

    yield start
    for guest in guests:
        guest.kill()


def test_image_is_a_cached_qcow2(guest_image: Path) -> None:
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(guest_image)], check=True, capture_output=True).stdout)
    assert info["format"] == "qcow2"
    assert "backing-filename" not in info
    built_at = guest_image.stat().st_mtime_ns
    assert build_test_image(guest_image.parent) == guest_image
    assert guest_image.stat().st_mtime_ns == built_at  # the second call used the cache


def test_guest_reads_config_drive_runs_user_data_and_powers_off(boot, tmp_path: Path) -> None:
    user_data_marker = f"USERDATA-{uuid.uuid4().hex}"
    config_drive = tmp_path / "config.iso"
    meta_data = nova_meta_data(
        uuid=str(uuid.uuid4()),
        name="vm test",
        hostname="vm-test",  # the guest sees vm-test.novalocal and keeps the short name, as cloud-init does
        project_id=uuid.uuid4().hex,
        availability_zone="nova",
        key_pair={"name": "mykey", "type": "ssh", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey test@pocketstack\n"},
        metadata={"role": "e2e"},
    )
    user_data = f"#!/bin/sh\necho {user_data_marker} on $(hostname)\n".encode()
    build_config_drive(config_drive, meta_data=meta_data, user_data=user_data, network_data=None, vendor_data=None)

    guest = boot(config_drive)
    log = guest.wait_for(f"{MARKER} ready")
    lines = [line.rstrip("\r") for line in log.splitlines()]
    expected_in_order = [
        f"{MARKER} booted",
        f"{MARKER} boot-disk dev=/dev/vda count=1",
        f"{MARKER} config-drive dev=/dev/sr0",
        f"{MARKER} uuid={meta_data['uuid']}",
        f"{MARKER} hostname=vm-test",
        f"{MARKER} public_keys=1",
        f"{MARKER} user_data start",
        f"{user_data_marker} on vm-test",
        f"{MARKER} user_data done rc=0",
        f"{MARKER} ready",
    ]
    assert [line for line in lines if line in expected_in_order] == expected_in_order, log

    # acpid starts (and forks) just before "ready": a press that comes first is lost, so
    # press again until the guest is off, as a graceful shutdown does
    deadline = time.monotonic() + BOOT_DEADLINE_S
    while guest.process.poll() is None and time.monotonic() < deadline:
        try:
            guest.press_power_button()
        except OSError:  # QEMU went away between the check and the press: it is off
            pass
        try:
            guest.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            continue
    assert guest.process.wait(timeout=1) == 0  # -no-reboot: QEMU exits once the guest is off
    assert f"{MARKER} poweroff" in guest.log().splitlines()
