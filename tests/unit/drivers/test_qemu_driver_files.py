"""The QEMU driver's bookkeeping without QEMU: guest records, the bounded console log, finding
QEMU processes by pidfile, and what the driver reports about guests that are not running."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pocketstack.drivers.compute.base import BootImage, DriverError, GuestNotFound, GuestSpec, Nic, PowerState
from pocketstack.drivers.compute.qemu import QemuDriver, console
from pocketstack.drivers.compute.qemu.layout import GuestRecord, InstanceFiles, boot_image_to_json, read_record, write_record
from pocketstack.drivers.compute.qemu.process import guest_pid, is_guest_process, kill_guest_process, wait_for_exit

IMAGE = BootImage(image_id="image-1", path=Path("/var/cache/images/image-1"), disk_format="qcow2", kernel=Path("/k/vmlinuz"))


def make_spec(**overrides) -> GuestSpec:
    fields = {"server_id": str(uuid.uuid4()), "name": "vm", "vcpus": 1, "memory_mb": 128, "root_gb": 1, "image": IMAGE}
    return GuestSpec(**(fields | overrides))


@pytest.fixture
def driver(tmp_path: Path) -> QemuDriver:
    return QemuDriver(tmp_path / "instances", cache_dir=tmp_path / "cache")


def stopped_guest(driver: QemuDriver, spec: GuestSpec | None = None) -> InstanceFiles:
    """A guest's directory as a stopped guest leaves it (record and console, no process)."""
    spec = spec or make_spec()
    files = InstanceFiles(driver.instances_dir / spec.server_id)
    files.directory.mkdir(parents=True)
    write_record(files.record, GuestRecord(spec, "qcow2"))
    files.console_log.write_text("POCKETSTACK-GUEST: booted\nPOCKETSTACK-GUEST: poweroff\n")
    return files


# ---- the record -------------------------------------------------------------------------------


def test_record_round_trip_leaves_out_the_config_drive_contents(tmp_path: Path) -> None:
    spec = make_spec(
        ephemeral_gb=2,
        swap_mb=512,
        config_drive={"openstack/latest/user_data": b"secret"},
        nics=(Nic(mac="fa:16:3e:00:00:01", tap="tap1", mtu=1450),),
        extra={"hw_video_model": "none"},
    )
    write_record(tmp_path / "guest.json", GuestRecord(spec, "raw"))
    record = read_record(tmp_path / "guest.json")
    assert record == GuestRecord(dataclasses.replace(spec, config_drive=None), "raw")
    assert b"secret" not in (tmp_path / "guest.json").read_bytes()
    assert read_record(tmp_path / "absent.json") is None


def test_unknown_record_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / "guest.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(ValueError):
        read_record(tmp_path / "guest.json")


# ---- the console log --------------------------------------------------------------------------


def test_console_tail_reads_across_the_rotated_part(tmp_path: Path) -> None:
    files = InstanceFiles(tmp_path)
    files.console_log_previous.write_text("one\ntwo\nthr")
    files.console_log.write_text("ee\nfour\n")
    assert console.tail(files, None, max_bytes=1000) == "one\ntwo\nthree\nfour\n"
    assert console.tail(files, 2, max_bytes=1000) == "three\nfour\n"
    assert console.tail(files, 0, max_bytes=1000) == ""
    assert console.tail(files, 2, max_bytes=8) == "ee\nfour\n"  # at most about max_bytes are read


def test_console_tail_survives_binary_noise(tmp_path: Path) -> None:
    files = InstanceFiles(tmp_path)
    files.console_log.write_bytes(b"\x00\xffboot\x1b[6n\n")
    assert console.tail(files, None, max_bytes=100) == "\ufffdboot\x1b[6n\n"


def test_rotation_moves_the_log_and_reopens_it_in_qemu(tmp_path: Path) -> None:
    files = InstanceFiles(tmp_path)
    files.console_log.write_bytes(b"x" * 100)
    assert console.needs_rotation(files, limit=99)
    assert not console.needs_rotation(files, limit=100)
    reopened = []
    console.rotate(files, reopened.append)
    assert files.console_log_previous.read_bytes() == b"x" * 100
    assert not files.console_log.exists()  # QEMU makes the new one
    assert reopened == [{"id": "console", "backend": {"type": "file", "data": {"out": str(files.console_log), "append": True}}}]


def test_console_output_rotates_a_big_log_of_a_stopped_guest(driver: QemuDriver) -> None:
    driver.console_log_bytes = 64
    files = stopped_guest(driver)
    files.console_log.write_text("".join(f"line {number}\n" for number in range(20)))
    assert driver.console_output(files.server_id, 2) == "line 18\nline 19\n"
    assert files.console_log_previous.exists() and not files.console_log.exists()
    assert driver.console_output(files.server_id, 1) == "line 19\n"


# ---- processes --------------------------------------------------------------------------------


@pytest.fixture
def fake_qemu():
    """A process whose command line has `-uuid <id>`, as our QEMUs have (it is our child: we reap it)."""
    server_id = str(uuid.uuid4())
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-uuid", server_id])
    yield process, server_id
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_a_process_is_the_guests_only_with_its_uuid(fake_qemu, tmp_path: Path) -> None:
    process, server_id = fake_qemu
    assert is_guest_process(process.pid, server_id)
    assert not is_guest_process(process.pid, str(uuid.uuid4()))
    pidfile = tmp_path / "qemu.pid"
    pidfile.write_text(f"{process.pid}\n")
    assert guest_pid(pidfile, server_id) == process.pid
    assert guest_pid(pidfile, str(uuid.uuid4())) is None  # a stale pidfile naming someone else's process
    assert guest_pid(tmp_path / "absent.pid", server_id) is None


def test_a_killed_process_counts_as_gone_before_it_is_reaped(fake_qemu) -> None:
    process, server_id = fake_qemu
    kill_guest_process(process.pid, server_id)
    assert wait_for_exit(process.pid, server_id, timeout=10)  # a zombie is not a running guest
    assert Path(f"/proc/{process.pid}").exists()  # still unreaped: we have not waited yet
    kill_guest_process(process.pid, server_id)  # and nothing is signalled again


def test_kill_spares_a_process_that_is_not_the_guest(fake_qemu) -> None:
    process, _ = fake_qemu
    kill_guest_process(process.pid, str(uuid.uuid4()))
    assert process.poll() is None
    assert not wait_for_exit(process.pid, _, timeout=0.1)


# ---- guests that are not running --------------------------------------------------------------


def test_list_guests_finds_stopped_and_suspended_guests_and_nothing_else(driver: QemuDriver) -> None:
    stopped = stopped_guest(driver)
    suspended = stopped_guest(driver)
    suspended.saved_state.write_bytes(b"memory")
    (driver.instances_dir / "not-a-guest").mkdir()
    (driver.instances_dir / str(uuid.uuid4())).write_text("a file, not a guest directory")
    assert driver.list_guests() == {stopped.server_id: PowerState.SHUTDOWN, suspended.server_id: PowerState.SUSPENDED}
    assert driver.power_state(stopped.server_id) is PowerState.SHUTDOWN
    assert driver.power_state(str(uuid.uuid4())) is PowerState.NOSTATE
    assert driver.power_state("../etc") is PowerState.NOSTATE


def test_a_new_driver_sees_the_same_guests(driver: QemuDriver, tmp_path: Path) -> None:
    files = stopped_guest(driver)
    again = QemuDriver(driver.instances_dir, cache_dir=tmp_path / "cache")
    assert again.list_guests() == {files.server_id: PowerState.SHUTDOWN}


def test_operations_on_a_stopped_guest(driver: QemuDriver) -> None:
    files = stopped_guest(driver)
    server_id = files.server_id
    assert driver.console_output(server_id, 1) == "POCKETSTACK-GUEST: poweroff\n"
    assert driver.vnc_socket(server_id) is None  # no QEMU, no VNC server
    driver.power_off(server_id)  # already off
    for call, message in (
        (driver.pause, "not running"),
        (driver.unpause, "not running"),
        (driver.suspend, "not running"),
    ):
        with pytest.raises(DriverError, match=message):
            call(server_id)
    with pytest.raises(DriverError, match="no saved state"):
        driver.resume(read_record(files.record).spec)
    driver.confirm_resize(server_id)  # nothing to confirm
    assert driver.power_state(server_id) is PowerState.SHUTDOWN


def test_a_suspended_guest_stays_suspended_when_suspended_or_powered_off(driver: QemuDriver) -> None:
    files = stopped_guest(driver)
    files.saved_state.write_bytes(b"memory")
    driver.suspend(files.server_id)
    driver.power_off(files.server_id)
    assert files.saved_state.read_bytes() == b"memory"
    assert driver.power_state(files.server_id) is PowerState.SUSPENDED


def test_destroy_removes_everything_and_is_idempotent(driver: QemuDriver) -> None:
    files = stopped_guest(driver)
    (files.directory / "resize-backup").mkdir()
    driver.destroy(files.server_id)
    assert not files.directory.exists()
    driver.destroy(files.server_id)
    driver.destroy("not-a-uuid")
    assert driver.list_guests() == {}


def test_unknown_guests_are_not_found(driver: QemuDriver, tmp_path: Path) -> None:
    spec = make_spec()
    for call in (
        lambda: driver.power_off(spec.server_id),
        lambda: driver.power_on(spec),
        lambda: driver.reboot(spec, hard=False),
        lambda: driver.pause(spec.server_id),
        lambda: driver.unpause(spec.server_id),
        lambda: driver.suspend(spec.server_id),
        lambda: driver.resume(spec),
        lambda: driver.snapshot(spec.server_id, tmp_path / "snap"),
        lambda: driver.console_output(spec.server_id),
        lambda: driver.console_output("../../etc/passwd"),
        lambda: driver.vnc_socket(spec.server_id),
        lambda: driver.rescue(spec, IMAGE),
        lambda: driver.unrescue(spec),
        lambda: driver.resize(spec),
        lambda: driver.confirm_resize(spec.server_id),
        lambda: driver.revert_resize(spec),
    ):
        with pytest.raises(GuestNotFound):
            call()


@pytest.mark.parametrize(
    "overrides",
    [
        {"server_id": "../../escape"},
        {"vcpus": 0},
        {"memory_mb": 4},
        {"ephemeral_gb": -1},
        {"image": dataclasses.replace(IMAGE, disk_format="vhd")},
    ],
    ids=["server-id", "vcpus", "memory", "negative-disk", "unconverted-image"],
)
def test_bad_specs_create_nothing(driver: QemuDriver, overrides: dict) -> None:
    with pytest.raises(DriverError):
        driver.spawn(make_spec(**overrides))
    assert list(driver.instances_dir.iterdir()) == []


def test_a_rescued_guest_boots_the_rescue_disk_first(driver: QemuDriver) -> None:
    spec = make_spec(ephemeral_gb=1)
    files = stopped_guest(driver, spec)
    normal = driver._launch_plan(files, read_record(files.record), incoming_fd=None)
    assert [disk.node for disk in normal.disks] == ["root", "ephemeral0"]
    assert normal.kernel_image == IMAGE
    rescue_image = BootImage(image_id="rescue", path=Path("/r/rescue.qcow2"), disk_format="qcow2")
    files.rescue_record.write_text(json.dumps({"image": boot_image_to_json(rescue_image), "disk_format": "qcow2"}))
    rescued = driver._launch_plan(files, read_record(files.record), incoming_fd=None)
    assert [(disk.node, disk.path) for disk in rescued.disks] == [("rescue", files.rescue_disk), ("root", files.disk)]
    assert rescued.kernel_image == rescue_image


def test_a_hard_reboot_resets_in_place_only_when_the_machine_stays_the_same(tmp_path: Path) -> None:
    from pocketstack.drivers.compute.qemu.driver import _same_machine

    spec = make_spec(config_drive={"openstack/latest/meta_data.json": b"{}"}, nics=(Nic(mac="fa:16:3e:00:00:01", tap="tap1"),))
    write_record(tmp_path / "guest.json", GuestRecord(spec, "qcow2"))
    recorded = read_record(tmp_path / "guest.json").spec
    assert _same_machine(recorded, spec)  # the config drive's contents are not part of the machine
    assert not _same_machine(recorded, dataclasses.replace(spec, memory_mb=256))
    assert not _same_machine(recorded, dataclasses.replace(spec, nics=()))
