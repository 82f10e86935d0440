"""The QEMU command line (drivers/compute/qemu/argv.py), built without running QEMU."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from pocketstack.drivers.compute.accel import Acceleration
from pocketstack.drivers.compute.base import BootImage, DriverError, GuestSpec, Nic
from pocketstack.drivers.compute.qemu.argv import DEFAULT_KERNEL_CMDLINE, Disk, LaunchPlan, qemu_command
from pocketstack.drivers.compute.qemu.host import parse_qemu_version
from pocketstack.drivers.compute.qemu.layout import InstanceFiles

TCG = Acceleration("tcg", "no /dev/kvm")
SERVER_ID = "6f1c8f2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
IMAGE = BootImage(image_id="image-1", path=Path("/var/cache/images/image-1"), disk_format="qcow2")
FILES = InstanceFiles(Path("/var/lib/pocketstack/instances") / SERVER_ID)


def make_spec(**overrides) -> GuestSpec:
    fields = {"server_id": SERVER_ID, "name": "web", "vcpus": 2, "memory_mb": 256, "root_gb": 1, "image": IMAGE}
    return GuestSpec(**(fields | overrides))


def command(spec: GuestSpec | None = None, acceleration: Acceleration = TCG, **plan) -> list[str]:
    plan.setdefault("disks", (Disk("root", FILES.disk, "qcow2"),))
    return qemu_command("qemu-system-x86_64", LaunchPlan(spec=spec or make_spec(), **plan), FILES, acceleration)


def values(argv: list[str], flag: str) -> list[str]:
    """Every value given to `flag`, in order."""
    return [value for option, value in zip(argv, argv[1:]) if option == flag]


def test_the_machine_has_nothing_we_did_not_ask_for() -> None:
    argv = command()
    assert argv[0] == "qemu-system-x86_64"
    assert {"-nodefaults", "-no-user-config", "-daemonize"} <= set(argv)
    assert values(argv, "-machine") == ["pc"]
    assert values(argv, "-m") == ["256"] and values(argv, "-smp") == ["2"]
    assert values(argv, "-uuid") == [SERVER_ID]
    assert values(argv, "-display") == ["none"]
    # a guest powering off ends QEMU; a guest rebooting resets it
    assert "-no-shutdown" not in argv and "-no-reboot" not in argv
    # never a user-mode NIC (it would reach the host's network) and no NIC at all without Nics
    assert values(argv, "-netdev") == [] and values(argv, "-nic") == []
    assert not any("user" in value for value in values(argv, "-netdev"))


def test_accelerator_comes_from_the_probe_verdict() -> None:
    assert values(command(), "-accel") == ["tcg"]
    kvm = command(acceleration=Acceleration("kvm", "probe boot reached the marker"))
    assert values(kvm, "-accel") == ["kvm"] and values(kvm, "-cpu") == ["host"]


def test_control_files_live_in_the_instance_directory() -> None:
    argv = command()
    assert values(argv, "-pidfile") == [str(FILES.pidfile)]
    # sockets are relative: bound in QEMU's working directory, the instance directory
    assert values(argv, "-qmp") == ["unix:qmp.sock,server=on,wait=off"]
    assert values(argv, "-vnc") == ["unix:vnc.sock"]
    assert values(argv, "-chardev") == [f"file,id=console,path={FILES.console_log},append=on"]
    assert values(argv, "-serial") == ["chardev:console"]


def test_smbios_tells_cloud_init_it_runs_on_openstack() -> None:
    (smbios,) = values(command(), "-smbios")
    assert smbios.startswith("type=1,")
    fields = dict(item.split("=", 1) for item in smbios.split(",")[1:])
    assert fields["uuid"] == SERVER_ID and fields["serial"] == SERVER_ID
    assert fields["product"] in ("OpenStack Nova", "OpenStack Compute")  # what cloud-init's ds-identify accepts
    assert fields["manufacturer"] == "OpenStack Foundation"


def test_names_with_commas_cannot_inject_options() -> None:
    (name,) = values(command(make_spec(name="web,debug-threads=off,process=evil")), "-name")
    assert name == "guest=web,,debug-threads=off,,process=evil,debug-threads=on"


def test_disks_are_named_virtio_blockdevs_and_the_first_boots() -> None:
    disks = (
        Disk("root", FILES.disk, "qcow2"),
        Disk("ephemeral0", FILES.ephemeral, "qcow2"),
        Disk("swap", FILES.swap, "qcow2"),
    )
    argv = command(disks=disks)
    nodes = [json.loads(value) for value in values(argv, "-blockdev")]
    assert [(node["node-name"], node["driver"], node["file"]["filename"]) for node in nodes] == [
        ("root", "qcow2", str(FILES.disk)),
        ("ephemeral0", "qcow2", str(FILES.ephemeral)),
        ("swap", "qcow2", str(FILES.swap)),
    ]
    assert values(argv, "-device")[:3] == [
        "virtio-blk-pci,drive=root,id=root-disk,bootindex=0",
        "virtio-blk-pci,drive=ephemeral0,id=ephemeral0-disk",
        "virtio-blk-pci,drive=swap,id=swap-disk",
    ]


def test_a_raw_root_disk_and_a_path_with_commas() -> None:
    odd = Path("/srv/a,b/disk")
    (node,) = [json.loads(value) for value in values(command(disks=(Disk("root", odd, "raw"),)), "-blockdev")]
    assert node["driver"] == "raw" and node["file"]["filename"] == str(odd)  # JSON: no escaping needed


def test_config_drive_is_a_read_only_ide_cdrom() -> None:
    argv = command(config_drive=FILES.config_drive)
    config = [json.loads(value) for value in values(argv, "-blockdev") if json.loads(value)["node-name"] == "config"]
    assert config == [
        {
            "driver": "raw",
            "node-name": "config",
            "read-only": True,
            "file": {"driver": "file", "filename": str(FILES.config_drive), "read-only": True},
        }
    ]
    assert "ide-cd,drive=config,id=config-disk,bus=ide.1,unit=0" in values(argv, "-device")


def test_nics_are_virtio_on_existing_taps() -> None:
    nics = (Nic(mac="FA:16:3E:00:00:01", tap="tap0123456789a"), Nic(mac="fa:16:3e:00:00:02", tap="tap-b", mtu=1450))
    argv = command(make_spec(nics=nics))
    # ids come from the tap, so a NIC plugged in at boot and a hot-plugged one are unplugged alike
    assert values(argv, "-netdev") == [
        "tap,id=net-tap0123456789a,ifname=tap0123456789a,script=no,downscript=no",
        "tap,id=net-tap-b,ifname=tap-b,script=no,downscript=no",
    ]
    nic_devices = [device for device in values(argv, "-device") if device.startswith("virtio-net-pci")]
    assert nic_devices == [
        "virtio-net-pci,netdev=net-tap0123456789a,id=nic-tap0123456789a,mac=fa:16:3e:00:00:01,host_mtu=1500",
        "virtio-net-pci,netdev=net-tap-b,id=nic-tap-b,mac=fa:16:3e:00:00:02,host_mtu=1450",
    ]
    assert not any("vhost" in value for value in values(argv, "-netdev"))  # the host has no vhost_net


def test_nics_come_after_every_other_pci_device() -> None:
    """The other devices then keep their slots whatever NICs come and go (a restore needs them there)."""
    argv = command(make_spec(nics=(Nic(mac="fa:16:3e:00:00:01", tap="tap-a"),), extra={"hw_rng_model": "virtio"}))
    devices = values(argv, "-device")
    assert devices[-1].startswith("virtio-net-pci,")
    assert [device.split(",")[0] for device in devices[:-1]] == ["virtio-blk-pci", "VGA", "virtio-rng-pci", "virtio-balloon-pci"]


def test_pinned_nics_get_their_slot_back_before_the_others_are_placed() -> None:
    nics = (Nic(mac="fa:16:3e:00:00:01", tap="tap-a"), Nic(mac="fa:16:3e:00:00:02", tap="tap-b"))
    argv = command(make_spec(nics=nics), nic_slots={"tap-b": 9})
    nic_devices = [device for device in values(argv, "-device") if device.startswith("virtio-net-pci")]
    assert nic_devices == [
        "virtio-net-pci,netdev=net-tap-b,id=nic-tap-b,mac=fa:16:3e:00:00:02,host_mtu=1500,addr=0x9",
        "virtio-net-pci,netdev=net-tap-a,id=nic-tap-a,mac=fa:16:3e:00:00:01,host_mtu=1500",
    ]


@pytest.mark.parametrize(
    "nic",
    [
        Nic(mac="fa:16:3e:00:00", tap="tap0"),
        Nic(mac="fa:16:3e:00:00:01,x=y", tap="tap0"),
        Nic(mac="fa:16:3e:00:00:01", tap="tap0,vhost=on"),
    ],
    ids=["short-mac", "mac-injection", "tap-injection"],
)
def test_bad_nics_are_refused(nic: Nic) -> None:
    with pytest.raises(DriverError):
        command(make_spec(nics=(nic,)))


def test_ami_style_images_boot_their_kernel() -> None:
    ami = BootImage(image_id="ami", path=IMAGE.path, disk_format="qcow2", kernel=Path("/k/vmlinuz"), ramdisk=Path("/k/initrd"))
    argv = command(kernel_image=ami)
    assert values(argv, "-kernel") == ["/k/vmlinuz"]
    assert values(argv, "-initrd") == ["/k/initrd"]
    assert values(argv, "-append") == [DEFAULT_KERNEL_CMDLINE]
    custom = BootImage(image_id="ami", path=IMAGE.path, disk_format="qcow2", kernel=Path("/k/vmlinuz"), kernel_cmdline="root=/dev/vda1 ro")
    argv = command(kernel_image=custom)
    assert values(argv, "-append") == ["root=/dev/vda1 ro"]
    assert values(argv, "-initrd") == []
    assert values(command(kernel_image=IMAGE), "-kernel") == []  # a whole-disk image boots through its bootloader


def test_resume_restores_from_a_descriptor() -> None:
    assert values(command(incoming_fd=7), "-incoming") == ["fd:7"]
    assert "-incoming" not in command()


def test_video_and_rng_follow_image_properties() -> None:
    assert "VGA,id=video0" in values(command(), "-device")  # for the VNC console
    assert not any(
        device.startswith(("VGA", "virtio-vga")) for device in values(command(make_spec(extra={"hw_video_model": "none"})), "-device")
    )
    assert "virtio-vga,id=video0" in values(command(make_spec(extra={"hw_video_model": "virtio"})), "-device")
    rng = command(make_spec(extra={"hw_rng_model": "virtio"}))
    assert "virtio-rng-pci,rng=rng0,id=rng0-dev" in values(rng, "-device")
    assert values(rng, "-object") == ["rng-random,id=rng0,filename=/dev/urandom"]
    for extra in ({"hw_video_model": "3dfx"}, {"hw_rng_model": "egd"}):
        with pytest.raises(DriverError):
            command(make_spec(extra=extra))


def test_every_guest_gets_its_own_identity() -> None:
    other_id = str(uuid.uuid4())
    argv = qemu_command(
        "qemu-system-x86_64",
        LaunchPlan(spec=make_spec(server_id=other_id), disks=(Disk("root", FILES.disk, "qcow2"),)),
        InstanceFiles(Path("/x") / other_id),
        TCG,
    )
    assert values(argv, "-uuid") == [other_id]
    assert values(argv, "-pidfile") == [f"/x/{other_id}/qemu.pid"]


@pytest.mark.parametrize(
    "output, version",
    [
        ("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022", 7002022),
        ("QEMU emulator version 7.2.0\n", 7002000),
        ("QEMU emulator version 10.1.50 (v10.1.0-1234-gabc)\n", 10001050),
        ("QEMU emulator version 8.2\n", 8002000),
    ],
)
def test_version_in_novas_integer_form(output: str, version: int) -> None:
    assert parse_qemu_version(output) == version


def test_unreadable_version_is_an_error() -> None:
    with pytest.raises(DriverError):
        parse_qemu_version("qemu-system-x86_64: command not found")
