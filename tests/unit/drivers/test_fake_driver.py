"""The fake hypervisor (drivers/compute/fake.py): every operation, its idempotence, its errors, its knobs."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from pocketstack.drivers.compute.base import BootImage, DriverError, GuestNotFound, GuestSpec, Nic, PowerState
from pocketstack.drivers.compute.fake import FakeDriver

IMAGE = BootImage(image_id="image-1", path=Path("/nonexistent/image.qcow2"), disk_format="qcow2")
RESCUE_IMAGE = BootImage(image_id="rescue-1", path=Path("/nonexistent/rescue.qcow2"), disk_format="qcow2")


def make_spec(**overrides) -> GuestSpec:
    fields = {"server_id": str(uuid.uuid4()), "name": "vm", "vcpus": 1, "memory_mb": 128, "root_gb": 1, "image": IMAGE}
    return GuestSpec(**(fields | overrides))


@pytest.fixture
def driver() -> FakeDriver:
    return FakeDriver()


@pytest.fixture
def spec(driver: FakeDriver) -> GuestSpec:
    spec = make_spec(config_drive={"openstack/latest/meta_data.json": b"{}"})
    driver.spawn(spec)
    return spec


def events(driver: FakeDriver, server_id: str) -> list[str]:
    return driver.console_output(server_id).splitlines()


def test_host_resources_are_big_and_fake(driver: FakeDriver) -> None:
    resources = driver.host_resources()
    assert resources.hypervisor_type == "fake"
    assert resources.vcpus == 1000
    assert resources.memory_mb == 1024 * 1024
    assert resources.local_gb == 10 * 1024
    assert resources.hypervisor_version > 0
    assert resources.accelerator


def test_spawn_runs_the_guest_and_logs_its_boot(driver: FakeDriver, spec: GuestSpec) -> None:
    assert driver.power_state(spec.server_id) is PowerState.RUNNING
    assert driver.list_guests() == {spec.server_id: PowerState.RUNNING}
    assert events(driver, spec.server_id) == ["fake: booted", "fake: hostname=vm", "fake: config-drive files=1", "fake: ready"]


def test_spawn_is_idempotent(driver: FakeDriver, spec: GuestSpec) -> None:
    before = driver.console_output(spec.server_id)
    driver.spawn(spec)
    assert driver.console_output(spec.server_id) == before  # no second boot
    driver.pause(spec.server_id)
    driver.spawn(spec)
    assert driver.power_state(spec.server_id) is PowerState.PAUSED  # a spawn leaves a running (paused) guest alone


def test_spawn_of_a_stopped_guest_starts_it(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.power_off(spec.server_id)
    driver.spawn(spec)
    assert driver.power_state(spec.server_id) is PowerState.RUNNING
    assert events(driver, spec.server_id).count("fake: booted") == 2


def test_unknown_guests(driver: FakeDriver) -> None:
    missing = make_spec()
    assert driver.power_state(missing.server_id) is PowerState.NOSTATE
    assert driver.power_state("not-a-uuid") is PowerState.NOSTATE
    driver.destroy(missing.server_id)  # nothing to do, no error
    for call in (
        lambda: driver.power_off(missing.server_id),
        lambda: driver.power_on(missing),
        lambda: driver.reboot(missing, hard=True),
        lambda: driver.pause(missing.server_id),
        lambda: driver.unpause(missing.server_id),
        lambda: driver.suspend(missing.server_id),
        lambda: driver.resume(missing),
        lambda: driver.snapshot(missing.server_id, Path("/nonexistent/snap")),
        lambda: driver.console_output(missing.server_id),
        lambda: driver.console_output("../../etc"),
        lambda: driver.vnc_socket(missing.server_id),
        lambda: driver.rescue(missing, RESCUE_IMAGE),
        lambda: driver.unrescue(missing),
        lambda: driver.resize(missing),
        lambda: driver.confirm_resize(missing.server_id),
        lambda: driver.revert_resize(missing),
    ):
        with pytest.raises(GuestNotFound):
            call()


@pytest.mark.parametrize(
    "overrides",
    [
        {"server_id": "not-a-uuid"},
        {"vcpus": 0},
        {"memory_mb": 1},
        {"root_gb": -1},
        {"image": dataclasses.replace(IMAGE, disk_format="vmdk")},
    ],
    ids=["server-id", "vcpus", "memory", "negative-disk", "unconverted-image"],
)
def test_bad_specs_are_refused(driver: FakeDriver, overrides: dict) -> None:
    with pytest.raises(DriverError):
        driver.spawn(make_spec(**overrides))
    assert driver.list_guests() == {}


def test_destroy_removes_the_guest_and_is_idempotent(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.destroy(spec.server_id)
    assert driver.power_state(spec.server_id) is PowerState.NOSTATE
    assert driver.list_guests() == {}
    driver.destroy(spec.server_id)


def test_power_off_and_on(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.power_off(spec.server_id, timeout=5)
    assert driver.power_state(spec.server_id) is PowerState.SHUTDOWN
    assert events(driver, spec.server_id)[-1] == "fake: poweroff"
    driver.power_off(spec.server_id)  # already off
    assert events(driver, spec.server_id).count("fake: poweroff") == 1
    driver.power_on(spec)
    assert driver.power_state(spec.server_id) is PowerState.RUNNING
    driver.power_on(spec)  # already on: no second boot
    assert events(driver, spec.server_id).count("fake: booted") == 2


def test_power_off_without_timeout_stops_hard(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.power_off(spec.server_id, timeout=0)
    assert events(driver, spec.server_id)[-1] == "fake: stopped hard"


@pytest.mark.parametrize("hard", [True, False])
def test_reboot_boots_again(driver: FakeDriver, spec: GuestSpec, hard: bool) -> None:
    driver.reboot(spec, hard=hard)
    assert driver.power_state(spec.server_id) is PowerState.RUNNING
    assert ("fake: reset" if hard else "fake: reboot") in events(driver, spec.server_id)
    assert events(driver, spec.server_id).count("fake: booted") == 2


def test_reboot_starts_a_stopped_guest_and_new_specs_apply(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.power_off(spec.server_id)
    driver.reboot(dataclasses.replace(spec, name="renamed", config_drive=None), hard=True)
    assert driver.power_state(spec.server_id) is PowerState.RUNNING
    assert events(driver, spec.server_id)[-3:] == ["fake: hostname=renamed", "fake: config-drive files=1", "fake: ready"]


def test_pause_and_unpause(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.pause(spec.server_id)
    driver.pause(spec.server_id)
    assert driver.power_state(spec.server_id) is PowerState.PAUSED
    driver.unpause(spec.server_id)
    driver.unpause(spec.server_id)
    assert driver.power_state(spec.server_id) is PowerState.RUNNING
    assert events(driver, spec.server_id)[-2:] == ["fake: paused", "fake: unpaused"]


def test_pause_and_unpause_need_a_running_guest(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.power_off(spec.server_id)
    with pytest.raises(DriverError, match="not running"):
        driver.pause(spec.server_id)
    with pytest.raises(DriverError, match="not running"):
        driver.unpause(spec.server_id)
    assert driver.power_state(spec.server_id) is PowerState.SHUTDOWN


def test_suspend_and_resume(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.suspend(spec.server_id)
    driver.suspend(spec.server_id)
    assert driver.power_state(spec.server_id) is PowerState.SUSPENDED
    with pytest.raises(DriverError):
        driver.pause(spec.server_id)
    driver.resume(spec)
    driver.resume(spec)
    assert driver.power_state(spec.server_id) is PowerState.RUNNING
    assert events(driver, spec.server_id).count("fake: booted") == 1  # memory kept: no boot


def test_a_suspended_guest_comes_back_with_power_on_or_a_soft_reboot_but_a_hard_reboot_boots(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.suspend(spec.server_id)
    driver.power_on(spec)
    assert events(driver, spec.server_id)[-1] == "fake: resumed"
    driver.suspend(spec.server_id)
    driver.reboot(spec, hard=False)
    assert events(driver, spec.server_id)[-1] == "fake: resumed"
    driver.suspend(spec.server_id)
    driver.reboot(spec, hard=True)
    assert events(driver, spec.server_id)[-1] == "fake: ready"
    assert driver.power_state(spec.server_id) is PowerState.RUNNING


def test_suspend_and_resume_errors(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.power_off(spec.server_id)
    with pytest.raises(DriverError, match="not running"):
        driver.suspend(spec.server_id)
    with pytest.raises(DriverError, match="no saved state"):
        driver.resume(spec)


def test_resume_continues_a_paused_guest(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.pause(spec.server_id)
    driver.resume(spec)
    assert driver.power_state(spec.server_id) is PowerState.RUNNING


def test_snapshot_writes_a_valid_image(driver: FakeDriver, spec: GuestSpec, tmp_path: Path) -> None:
    dest = tmp_path / "snapshot"
    disk_format = driver.snapshot(spec.server_id, dest)
    assert events(driver, spec.server_id)[-1] == "fake: snapshot"
    assert dest.is_file()
    assert [path.name for path in tmp_path.iterdir()] == ["snapshot"]  # no temporary left
    if shutil.which("qemu-img"):
        assert disk_format == "qcow2"
        info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(dest)], check=True, capture_output=True).stdout)
        assert info["format"] == "qcow2" and "backing-filename" not in info
    else:
        assert disk_format == "raw"
        assert dest.stat().st_size == 1 << 20


def test_snapshot_into_a_missing_directory_is_a_driver_error(driver: FakeDriver, spec: GuestSpec, tmp_path: Path) -> None:
    with pytest.raises(DriverError):
        driver.snapshot(spec.server_id, tmp_path / "absent" / "snapshot")


def test_console_output_length(driver: FakeDriver, spec: GuestSpec) -> None:
    assert driver.console_output(spec.server_id, 1) == "fake: ready\n"
    assert driver.console_output(spec.server_id, 0) == ""
    assert driver.console_output(spec.server_id, 100) == driver.console_output(spec.server_id)


def test_console_keeps_the_newest_lines(driver: FakeDriver, spec: GuestSpec) -> None:
    for _ in range(600):
        driver.pause(spec.server_id)
        driver.unpause(spec.server_id)
    lines = events(driver, spec.server_id)
    assert len(lines) == 1000
    assert lines[-1] == "fake: unpaused"


def test_vnc_socket_is_none(driver: FakeDriver, spec: GuestSpec) -> None:
    assert driver.vnc_socket(spec.server_id) is None


def test_nics_attach_and_detach_while_the_guest_runs(driver: FakeDriver, spec: GuestSpec) -> None:
    nic = Nic(mac="fa:16:3e:00:00:01", tap="tap0123456789a")
    driver.attach_nic(spec.server_id, nic)
    driver.attach_nic(spec.server_id, nic)  # idempotent
    assert driver.attached_nics(spec.server_id) == (nic,)
    other = make_spec()
    driver.spawn(other)
    with pytest.raises(DriverError, match="still held"):
        driver.attach_nic(other.server_id, nic)  # one tap, one guest
    assert driver.detach_nic(spec.server_id, nic.tap) is True
    assert driver.detach_nic(spec.server_id, nic.tap) is True  # gone already
    assert driver.attached_nics(spec.server_id) == ()
    driver.attach_nic(other.server_id, nic)
    assert driver.attached_nics(other.server_id) == (nic,)


def test_a_stopped_guest_has_no_nics_to_hot_plug(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.power_off(spec.server_id)
    assert driver.attached_nics(spec.server_id) == ()
    with pytest.raises(DriverError, match="not running"):
        driver.attach_nic(spec.server_id, Nic(mac="fa:16:3e:00:00:01", tap="tap0123456789a"))
    assert driver.detach_nic(spec.server_id, "tap0123456789a") is True


def test_rescue_and_unrescue(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.rescue(spec, RESCUE_IMAGE)
    assert driver.power_state(spec.server_id) is PowerState.RUNNING
    assert "fake: rescue image=rescue-1" in events(driver, spec.server_id)
    boots = events(driver, spec.server_id).count("fake: booted")
    driver.rescue(spec, RESCUE_IMAGE)  # already rescued
    assert events(driver, spec.server_id).count("fake: booted") == boots
    driver.unrescue(spec)
    driver.unrescue(spec)
    assert events(driver, spec.server_id).count("fake: booted") == boots + 1
    assert driver.power_state(spec.server_id) is PowerState.RUNNING


def test_resize_then_confirm(driver: FakeDriver, spec: GuestSpec) -> None:
    bigger = dataclasses.replace(spec, vcpus=2, memory_mb=256, root_gb=2, ephemeral_gb=1)
    driver.resize(bigger)
    driver.resize(bigger)
    assert driver.power_state(spec.server_id) is PowerState.SHUTDOWN  # resize leaves it stopped
    driver.power_on(bigger)
    driver.confirm_resize(spec.server_id)
    driver.confirm_resize(spec.server_id)
    driver.revert_resize(spec)  # nothing left to revert to: stays at the new size, stopped
    assert driver.power_state(spec.server_id) is PowerState.SHUTDOWN
    with pytest.raises(DriverError, match="down"):
        driver.resize(dataclasses.replace(bigger, root_gb=1))


def test_resize_then_revert(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.resize(dataclasses.replace(spec, root_gb=3))
    driver.power_on(dataclasses.replace(spec, root_gb=3))
    driver.revert_resize(spec)
    driver.revert_resize(spec)
    assert driver.power_state(spec.server_id) is PowerState.SHUTDOWN
    assert events(driver, spec.server_id).count("fake: resize reverted") == 1
    driver.resize(dataclasses.replace(spec, root_gb=2))  # back at 1 GiB: growing to 2 is allowed again


def test_resize_refuses_to_shrink_before_touching_the_guest(driver: FakeDriver, spec: GuestSpec) -> None:
    driver.resize(dataclasses.replace(spec, ephemeral_gb=2))
    driver.confirm_resize(spec.server_id)
    driver.power_on(spec)
    with pytest.raises(DriverError, match="ephemeral"):
        driver.resize(dataclasses.replace(spec, ephemeral_gb=1))
    assert driver.power_state(spec.server_id) is PowerState.RUNNING


def test_spawn_delay(spec: GuestSpec) -> None:
    driver = FakeDriver(spawn_delay=0.2)
    started = time.monotonic()
    driver.spawn(make_spec())
    assert time.monotonic() - started >= 0.2


def test_spawn_fails_for_marked_names_and_leaves_nothing(driver: FakeDriver) -> None:
    with pytest.raises(DriverError, match="on purpose"):
        driver.spawn(make_spec(name="fake-fail-boot"))
    assert driver.list_guests() == {}
    never_failing = FakeDriver(fail_spawn_prefix=None)
    never_failing.spawn(make_spec(name="fake-fail-boot"))
    assert list(never_failing.list_guests().values()) == [PowerState.RUNNING]


def test_threads_spawn_and_destroy_concurrently(driver: FakeDriver) -> None:
    specs = [make_spec(name=f"vm-{index}") for index in range(64)]
    errors: list[BaseException] = []

    def life(spec: GuestSpec) -> None:
        try:
            driver.spawn(spec)
            driver.pause(spec.server_id)
            driver.unpause(spec.server_id)
            driver.list_guests()
            if int(spec.name.split("-")[1]) % 2:
                driver.destroy(spec.server_id)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=life, args=(spec,)) for spec in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert driver.list_guests() == {spec.server_id: PowerState.RUNNING for spec in specs[::2]}
