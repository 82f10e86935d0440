"""NIC hot-plug through QMP: a tap netdev plus a virtio-net-pci device, named by the tap
(argv.nic_netdev_id / nic_device_id) as on the command line.

On ``-machine pc`` the devices sit on the root PCI bus and come and go by ACPI hotplug.
Plugging is immediate. Unplugging is a request: ``device_del`` asks the guest, and the
device exists until the guest has let go of it (measured on TCG, test guest: 0.2 s when
it runs; a paused guest answers once it continues, one still booting when its ACPI is up).
Only then is the netdev deleted, which closes the tap (QEMU made it, not persistent, so
it disappears from the host).

Like monitor.py, every function uses short QMP sessions of its own and none holds one
while it waits.
"""

from __future__ import annotations

import contextlib
import time

from pocketstack.drivers.compute.base import Nic
from pocketstack.drivers.compute.qemu.argv import checked_mac, nic_device_id, nic_netdev_id
from pocketstack.drivers.compute.qemu.layout import InstanceFiles
from pocketstack.drivers.compute.qmp import QmpCommandError, QmpSession

UNPLUG_WAIT_S = 3.0  # the agent asks again on its next pass: it must not wait long for one guest
UNPLUG_POLL_S = 0.1
# how QEMU refuses a device_del while the guest has not answered the last one (7.2 accepts it again)
UNPLUG_PENDING_PHRASES = ("in progress", "process of unplug")


def nic_slots(files: InstanceFiles) -> dict[str, int]:
    """PCI device id -> slot of every device on the root bus that has an id."""
    with QmpSession(files.qmp_socket) as qmp:
        return _device_slots(qmp)


def plug_nic(files: InstanceFiles, nic: Nic) -> dict[str, int]:
    """Add the NIC unless its device exists already; returns the devices' slots afterwards."""
    mac = checked_mac(nic)
    netdev, device = nic_netdev_id(nic.tap), nic_device_id(nic.tap)
    with QmpSession(files.qmp_socket) as qmp:
        slots = _device_slots(qmp)
        if device in slots:
            return slots
        # a netdev without its device is left over from an interrupted unplug: it holds the tap
        _delete_netdev(qmp, netdev)
        qmp.execute("netdev_add", {"type": "tap", "id": netdev, "ifname": nic.tap, "script": "no", "downscript": "no"})
        try:
            arguments = {"driver": "virtio-net-pci", "netdev": netdev, "id": device, "mac": mac, "host_mtu": int(nic.mtu)}
            qmp.execute("device_add", arguments)
        except QmpCommandError:
            with contextlib.suppress(QmpCommandError):  # the device_add error is the one to report
                _delete_netdev(qmp, netdev)
            raise
        return _device_slots(qmp)


def unplug_nic(files: InstanceFiles, tap: str, *, wait_s: float = UNPLUG_WAIT_S) -> bool:
    """Ask the guest to let go of the NIC on `tap` and wait up to `wait_s` for it (not at all
    when the guest is not running); then delete the netdev. False: the guest still has it."""
    netdev, device = nic_netdev_id(tap), nic_device_id(tap)
    running = False
    with QmpSession(files.qmp_socket) as qmp:
        present = device in _device_slots(qmp)
        if present:
            _request_unplug(qmp, device)
            running = qmp.execute("query-status")["status"] == "running"
    if present and not _wait_until_gone(files, device, wait_s if running else 0.0):
        return False
    with QmpSession(files.qmp_socket) as qmp:
        _delete_netdev(qmp, netdev)
    return True


def _request_unplug(qmp: QmpSession, device: str) -> None:
    try:
        qmp.execute("device_del", {"id": device})
    except QmpCommandError as error:
        if error.error_class == "DeviceNotFound":  # the guest let go in between
            return
        if not any(phrase in error.description for phrase in UNPLUG_PENDING_PHRASES):
            raise


def _wait_until_gone(files: InstanceFiles, device: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if device not in nic_slots(files):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(UNPLUG_POLL_S)


def _delete_netdev(qmp: QmpSession, netdev: str) -> None:
    try:
        qmp.execute("netdev_del", {"id": netdev})
    except QmpCommandError as error:
        if error.error_class != "DeviceNotFound":  # not found: there is none, the usual case
            raise


def _device_slots(qmp: QmpSession) -> dict[str, int]:
    buses = qmp.execute("query-pci")
    return {device["qdev_id"]: device["slot"] for bus in buses for device in bus["devices"] if device.get("qdev_id")}
