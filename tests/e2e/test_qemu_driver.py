"""The QEMU driver on real guests (TCG here): a guest's whole life in one scenario, since every
boot costs about 6 CPU-seconds. The guest is the busybox test image (guest/build.py), which
prints markers on its serial console; every wait polls the console with a deadline, and no step
asserts how long it took.

The instances directory sits deep in pytest's temporary directory on purpose: its socket paths
are longer than the 107 bytes a unix socket address holds, which the driver must cope with.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pocketstack.drivers.compute.base import BootImage, DriverError, GuestSpec, Nic, PowerState
from pocketstack.drivers.compute.configdrive import config_drive_files, nova_meta_data
from pocketstack.drivers.compute.qemu import QemuDriver
from pocketstack.drivers.compute.qemu.layout import InstanceFiles
from pocketstack.drivers.compute.qemu.process import is_guest_process, wait_for_exit
from pocketstack.drivers.compute.qmp import connectable_socket_path
from pocketstack.guest.scripts import MARKER
from tests.e2e.conftest import needs_qemu

pytestmark = needs_qemu

WAIT_S = 60.0
BOOTED, READY, POWEROFF = f"{MARKER} booted", f"{MARKER} ready", f"{MARKER} poweroff"
GIB = 1 << 30


@pytest.fixture(scope="module")
def accel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One accelerator probe for the module (its verdict is cached there)."""
    return tmp_path_factory.mktemp("qemu-driver-cache")


@pytest.fixture
def instances_dir(tmp_path: Path) -> Iterator[Path]:
    """The guests' directory; whatever QEMU a failed test leaves running is killed by its pid."""
    directory = tmp_path / "instances"
    yield directory
    for guest_dir in directory.glob("*") if directory.exists() else ():
        files = InstanceFiles(guest_dir)
        try:
            pid = int(files.pidfile.read_text())
        except (OSError, ValueError):
            continue
        if is_guest_process(pid, files.server_id):
            os.kill(pid, signal.SIGKILL)  # a QEMU this test started, by its pid
            wait_for_exit(pid, files.server_id, timeout=10)
    shutil.rmtree(directory, ignore_errors=True)


def new_driver(instances_dir: Path, accel_cache: Path, image: Path, **options) -> QemuDriver:
    return QemuDriver(instances_dir, cache_dir=accel_cache, probe_image=image, **options)


def guest_spec(image: BootImage, name: str, **overrides) -> GuestSpec:
    fields = {"server_id": str(uuid.uuid4()), "name": name, "vcpus": 1, "memory_mb": 128, "root_gb": 1, "image": image}
    return GuestSpec(**(fields | overrides))


def wait_for_line(driver: QemuDriver, server_id: str, line: str, count: int = 1) -> str:
    """The console log once it holds `line` (a whole line) at least `count` times."""
    pattern = re.compile(rf"^{re.escape(line)}\r?$", re.MULTILINE)
    deadline = time.monotonic() + WAIT_S
    while True:
        log = driver.console_output(server_id)
        if len(pattern.findall(log)) >= count:
            return log
        if time.monotonic() > deadline:
            pytest.fail(f"no {count}x {line!r} on the console of {server_id} within {WAIT_S:g} s:\n{log[-3000:]}")
        time.sleep(0.25)


def count_lines(log: str, line: str) -> int:
    return len(re.findall(rf"^{re.escape(line)}\r?$", log, re.MULTILINE))


def last_boot(log: str) -> str:
    """The console from the last kernel start on."""
    return log[log.rindex("Linux version") :]


def qemu_pid(driver: QemuDriver, server_id: str) -> int | None:
    files = InstanceFiles(driver.instances_dir / server_id)
    try:
        pid = int(files.pidfile.read_text())
    except (OSError, ValueError):
        return None
    return pid if is_guest_process(pid, server_id) else None


def qcow2_info(path: Path) -> dict:
    return json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)], check=True, capture_output=True).stdout)


def vnc_greeting(path: Path) -> bytes:
    with connectable_socket_path(path) as address, socket.socket(socket.AF_UNIX) as vnc:
        vnc.settimeout(10)
        vnc.connect(address)
        return vnc.recv(12)


def test_a_guest_lives_its_whole_life(guest_image: Path, instances_dir: Path, accel_cache: Path, tmp_path: Path) -> None:
    driver = new_driver(instances_dir, accel_cache, guest_image)
    image = BootImage(image_id="test-guest", path=guest_image, disk_format="qcow2")
    server_id = str(uuid.uuid4())
    user_data_marker = f"USERDATA-{uuid.uuid4().hex}"
    meta_data = nova_meta_data(uuid=server_id, name="life", hostname="life", project_id=uuid.uuid4().hex, availability_zone="nova")
    drive = config_drive_files(
        meta_data=meta_data, user_data=f"#!/bin/sh\necho {user_data_marker} on $(hostname)\n".encode(), network_data=None, vendor_data=None
    )
    spec = guest_spec(image, "life", server_id=server_id, ephemeral_gb=1, swap_mb=32, config_drive=drive)

    host = driver.host_resources()
    assert host.hypervisor_type == "QEMU" and host.hypervisor_version >= 7_000_000
    assert host.accelerator.startswith(("tcg: ", "kvm: "))
    assert host.vcpus >= 1 and host.memory_mb > 0 and host.local_gb > 0

    # spawn: the guest boots from an overlay, reads its config drive and runs user_data
    started = time.monotonic()
    driver.spawn(spec)
    log = wait_for_line(driver, server_id, READY)
    print(f"boot to ready: {time.monotonic() - started:.1f} s")
    assert f"{user_data_marker} on life" in log
    assert f"{MARKER} config-drive dev=/dev/sr0" in log and f"{MARKER} user_data done rc=0" in log
    assert "[vdb] 2097152 512-byte logical blocks" in log  # the 1 GiB ephemeral disk
    assert "[vdc] 65536 512-byte logical blocks" in log  # 32 MiB of swap
    disk = instances_dir / server_id / "disk"
    assert qcow2_info(disk)["virtual-size"] == GIB  # grown to the flavor's root_gb
    assert qcow2_info(disk)["backing-filename"] == str(guest_image.resolve())
    driver.spawn(spec)  # running already: nothing happens
    assert driver.list_guests() == {server_id: PowerState.RUNNING}
    assert vnc_greeting(driver.vnc_socket(server_id)) == b"RFB 003.008\n"

    driver.pause(server_id)
    assert driver.power_state(server_id) is PowerState.PAUSED
    driver.unpause(server_id)
    assert driver.power_state(server_id) is PowerState.RUNNING

    # the agent restarts: a new driver finds the running guest by its directory and pidfile
    driver = new_driver(instances_dir, accel_cache, guest_image)
    assert driver.list_guests() == {server_id: PowerState.RUNNING}

    # a live snapshot: standalone qcow2 (no backing file) while the guest keeps running
    snapshot = tmp_path / "snapshot.qcow2"
    assert driver.snapshot(server_id, snapshot) == "qcow2"
    assert "backing-filename" not in qcow2_info(snapshot)
    assert qcow2_info(snapshot)["virtual-size"] == GIB
    assert driver.power_state(server_id) is PowerState.RUNNING

    # suspend saves memory and ends the process; resume continues without a boot
    pid = qemu_pid(driver, server_id)
    driver.suspend(server_id)
    assert driver.power_state(server_id) is PowerState.SUSPENDED
    assert not is_guest_process(pid, server_id)
    assert (instances_dir / server_id / "memory.state").is_file()
    driver.suspend(server_id)
    driver.resume(spec)
    assert driver.power_state(server_id) is PowerState.RUNNING
    assert not (instances_dir / server_id / "memory.state").exists()
    assert count_lines(driver.console_output(server_id), BOOTED) == 1

    # hard reboot: a reset; soft reboot: ACPI power-off, then a new boot
    driver.reboot(spec, hard=True)
    wait_for_line(driver, server_id, READY, count=2)  # the resumed guest really runs on
    driver.reboot(spec, hard=False)
    log = wait_for_line(driver, server_id, READY, count=3)
    assert count_lines(log, BOOTED) == 3 and count_lines(log, POWEROFF) == 1

    # power off: the guest powers itself off and QEMU exits
    pid = qemu_pid(driver, server_id)
    driver.power_off(server_id, timeout=WAIT_S)
    assert driver.power_state(server_id) is PowerState.SHUTDOWN
    assert not is_guest_process(pid, server_id)
    assert count_lines(driver.console_output(server_id), POWEROFF) == 2
    assert driver.vnc_socket(server_id) is None

    # resize grows the stopped guest's disks and keeps the old ones until confirm or revert
    bigger = dataclasses.replace(spec, root_gb=2, ephemeral_gb=2, memory_mb=160)
    driver.resize(bigger)
    assert qcow2_info(disk)["virtual-size"] == 2 * GIB
    assert qcow2_info(instances_dir / server_id / "disk.eph0")["virtual-size"] == 2 * GIB
    driver.revert_resize(spec)
    assert qcow2_info(disk)["virtual-size"] == GIB
    assert not (instances_dir / server_id / "resize-backup").exists()
    assert driver.power_state(server_id) is PowerState.SHUTDOWN

    # power on this one while a second guest boots from the snapshot
    copy = guest_spec(BootImage(image_id="snapshot", path=snapshot, disk_format="qcow2"), "copy")
    copy_spawn = threading.Thread(target=driver.spawn, args=(copy,))
    copy_spawn.start()
    driver.power_on(spec)
    copy_spawn.join()
    wait_for_line(driver, server_id, READY, count=4)
    copy_log = wait_for_line(driver, copy.server_id, READY)
    assert f"{MARKER} boot-disk dev=/dev/vda count=2" in copy_log  # the snapshot had the first boot's count
    assert f"{MARKER} config-drive none" in copy_log
    assert driver.list_guests() == {server_id: PowerState.RUNNING, copy.server_id: PowerState.RUNNING}

    # the console log is bounded: a live rotation, and QEMU writes on into the new file
    small_log_driver = new_driver(instances_dir, accel_cache, guest_image, console_log_bytes=4096)
    small_log_driver.console_output(copy.server_id)
    copy_files = InstanceFiles(instances_dir / copy.server_id)
    assert BOOTED in copy_files.console_log_previous.read_text(errors="replace")
    small_log_driver.power_off(copy.server_id, timeout=WAIT_S)
    assert POWEROFF in copy_files.console_log.read_text(errors="replace")
    assert POWEROFF in small_log_driver.console_output(copy.server_id, 20)
    small_log_driver.destroy(copy.server_id)
    assert not copy_files.directory.exists()

    # rescue boots the rescue image with the guest's disk second; unrescue boots the guest's own
    driver.rescue(spec, image)
    log = wait_for_line(driver, server_id, READY, count=5)
    assert "[vda] 34816 512-byte logical blocks" in last_boot(log)  # the 17 MiB test image
    assert "[vdb] 2097152 512-byte logical blocks" in last_boot(log)  # the guest's own 1 GiB disk
    driver.rescue(spec, image)  # rescued already
    driver.unrescue(spec)
    log = wait_for_line(driver, server_id, READY, count=6)
    assert "[vda] 2097152 512-byte logical blocks" in last_boot(log)
    assert not (instances_dir / server_id / "disk.rescue").exists()

    # destroy a running guest: no process, no files
    pid = qemu_pid(driver, server_id)
    driver.destroy(server_id)
    assert not is_guest_process(pid, server_id)
    assert list(instances_dir.iterdir()) == []
    assert driver.list_guests() == {}
    driver.destroy(server_id)


def tap_exists(tap: str) -> bool:
    return subprocess.run(["ip", "link", "show", tap], capture_output=True).returncode == 0


def detach_until_done(driver: QemuDriver, server_id: str, tap: str) -> None:
    """Ask as the agent does, pass after pass, until the guest has let go of the NIC."""
    deadline = time.monotonic() + WAIT_S
    while not driver.detach_nic(server_id, tap):
        assert time.monotonic() < deadline, f"the guest did not let go of {tap} within {WAIT_S:g} s"


def test_nics_are_hot_plugged_and_unplugged(guest_image: Path, instances_dir: Path, accel_cache: Path) -> None:
    """A guest booted without NICs gets one and gives it back, twice; the second time it is also
    suspended and resumed with it (the NIC keeps its PCI slot) and paused during the unplug.
    The tap is made by QEMU and goes with the netdev; it is in no bridge, so nothing is sent."""
    driver = new_driver(instances_dir, accel_cache, guest_image)
    spec = guest_spec(BootImage(image_id="test-guest", path=guest_image, disk_format="qcow2"), "hotplug")
    server_id = spec.server_id
    nic = Nic(mac="fa:16:3e:" + ":".join(f"{byte:02x}" for byte in os.urandom(3)), tap="tap" + str(uuid.uuid4())[:11])
    assert driver.attached_nics(server_id) == ()
    driver.spawn(spec)
    wait_for_line(driver, server_id, READY)
    assert driver.attached_nics(server_id) == ()
    assert driver.detach_nic(server_id, nic.tap)  # never had it

    for round_ in (1, 2):
        driver.attach_nic(server_id, nic)
        wait_for_line(driver, server_id, f"{MARKER} nic-add eth0 mac={nic.mac}", count=round_)
        assert driver.attached_nics(server_id) == (nic,)
        assert tap_exists(nic.tap)
        driver.attach_nic(server_id, nic)  # has it already: nothing happens
        assert driver.attached_nics(server_id) == (nic,)

        if round_ == 2:
            # saved memory is restored into a QEMU with the hot-plugged NIC in the same slot
            driver.suspend(server_id)
            assert driver.attached_nics(server_id) == () and not tap_exists(nic.tap)
            driver.resume(spec)
            assert driver.power_state(server_id) is PowerState.RUNNING
            assert driver.attached_nics(server_id) == (nic,) and tap_exists(nic.tap)
            # a paused guest cannot answer the unplug: asked again, it is still pending
            driver.pause(server_id)
            assert not driver.detach_nic(server_id, nic.tap)
            assert not driver.detach_nic(server_id, nic.tap)
            assert driver.attached_nics(server_id) == (nic,)
            driver.unpause(server_id)

        detach_until_done(driver, server_id, nic.tap)
        log = wait_for_line(driver, server_id, f"{MARKER} nic-del eth0", count=round_)
        assert not tap_exists(nic.tap)
        assert driver.attached_nics(server_id) == ()
        assert driver.detach_nic(server_id, nic.tap)

    assert count_lines(log, BOOTED) == 1  # all of it in one boot
    driver.destroy(server_id)
    with pytest.raises(DriverError):
        driver.attach_nic(server_id, nic)
    assert driver.detach_nic(server_id, nic.tap)


def test_a_guest_that_will_not_stop_is_quit_after_the_timeout(guest_image: Path, instances_dir: Path, accel_cache: Path) -> None:
    """A guest that ignores ACPI (here: frozen by SIGSTOP) is quit, then killed, after the timeout.
    It also runs on a raw copy of its image (use_cow=False) of the image's own size (root_gb 0)."""
    driver = new_driver(instances_dir, accel_cache, guest_image, use_cow=False)
    spec = guest_spec(BootImage(image_id="test-guest", path=guest_image, disk_format="qcow2"), "stubborn", root_gb=0)
    driver.spawn(spec)
    pid = qemu_pid(driver, spec.server_id)
    root = json.loads(
        subprocess.run(
            ["qemu-img", "info", "-U", "--output=json", str(instances_dir / spec.server_id / "disk")], check=True, capture_output=True
        ).stdout
    )
    assert root["format"] == "raw" and root["virtual-size"] == qcow2_info(guest_image)["virtual-size"]
    os.kill(pid, signal.SIGSTOP)  # frozen: neither the guest nor the monitor can answer
    driver.power_off(spec.server_id, timeout=1)
    assert driver.power_state(spec.server_id) is PowerState.SHUTDOWN
    assert not is_guest_process(pid, spec.server_id)
    driver.destroy(spec.server_id)
