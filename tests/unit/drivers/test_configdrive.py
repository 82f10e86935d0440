"""Config drive ISO images (drivers/compute/configdrive.py): layout, contents, limits, atomic writes."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pycdlib
import pytest

from pocketstack.drivers.compute import configdrive
from pocketstack.drivers.compute.configdrive import build_config_drive, nova_ec2_meta_data, nova_meta_data, read_config_drive

KEY = {"name": "mykey", "type": "ssh", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey test@pocketstack\n"}
NETWORK_DATA = {
    "links": [{"id": "tap0", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:01", "mtu": 1500}],
    "networks": [{"id": "network0", "link": "tap0", "type": "ipv4_dhcp", "network_id": str(uuid.uuid4())}],
    "services": [],
}
VENDOR_DATA = {"region": "RegionOne", "greeting": "hello"}


def server_meta_data(**overrides) -> dict:
    arguments = {
        "uuid": str(uuid.uuid4()),
        "name": "web server",
        "hostname": "web-server",
        "project_id": uuid.uuid4().hex,
        "availability_zone": "nova",
        "key_pair": KEY,
        "metadata": {"role": "web"},
    }
    return nova_meta_data(**(arguments | overrides))


def build(tmp_path: Path, **overrides) -> tuple[Path, dict[str, bytes]]:
    arguments = {"meta_data": server_meta_data(), "user_data": b"#!/bin/sh\necho hi\n", "network_data": NETWORK_DATA, "vendor_data": VENDOR_DATA}
    dest = tmp_path / "disk.config"
    build_config_drive(dest, **(arguments | overrides))
    return dest, read_config_drive(dest)


def json_file(files: dict[str, bytes], path: str) -> object:
    return json.loads(files[path])


def test_meta_data_has_novas_fields() -> None:
    seed = bytes(range(256)) * 2
    meta_data = nova_meta_data(
        uuid="4d1b0e33-9b2f-4d0e-8f5e-0a4f4e8d9a11",
        name="web server",
        hostname="web-server",
        project_id="p1",
        availability_zone="az1",
        launch_index=2,
        key_pair=KEY,
        metadata={"role": "web"},
        random_seed=seed,
    )
    assert meta_data == {
        "uuid": "4d1b0e33-9b2f-4d0e-8f5e-0a4f4e8d9a11",
        "meta": {"role": "web"},
        "public_keys": {"mykey": KEY["public_key"]},
        "keys": [{"name": "mykey", "type": "ssh", "data": KEY["public_key"]}],
        "hostname": "web-server.novalocal",
        "name": "web server",
        "launch_index": 2,
        "availability_zone": "az1",
        "random_seed": base64.b64encode(seed).decode(),
        "project_id": "p1",
        "devices": [],
        "dedicated_cpus": [],
    }


def test_meta_data_without_key_metadata_or_domain() -> None:
    meta_data = server_meta_data(key_pair=None, metadata={}, dhcp_domain=None, admin_pass="s3cret")
    assert "public_keys" not in meta_data and "keys" not in meta_data and "meta" not in meta_data  # Nova omits them too
    assert meta_data["hostname"] == "web-server"
    assert meta_data["admin_pass"] == "s3cret"
    assert len(base64.b64decode(meta_data["random_seed"])) == 512
    assert server_meta_data()["random_seed"] != server_meta_data()["random_seed"]


def test_drive_has_novas_label_and_layout(tmp_path: Path) -> None:
    dest, files = build(tmp_path)
    iso = pycdlib.PyCdlib()
    iso.open(str(dest))
    try:
        assert iso.pvd.volume_identifier.decode().rstrip() == "config-2"
        assert iso.has_joliet() and iso.has_rock_ridge()
        joliet_names = {name for _root, _dirs, names in iso.walk(joliet_path="/openstack/latest") for name in names}
    finally:
        iso.close()
    latest = {"meta_data.json", "user_data", "network_data.json", "vendor_data.json", "vendor_data2.json"}
    assert joliet_names == latest
    versions = {path.split("/")[1] for path in files if path.startswith("openstack/")}
    assert versions == {*configdrive.OPENSTACK_VERSIONS, "latest"}
    assert "2018-08-27" in versions
    assert {path.rsplit("/", 1)[1] for path in files if path.startswith("openstack/2018-08-27/")} == latest
    # Files appear with the metadata version that introduced them, as in Nova's listing.
    assert {path.rsplit("/", 1)[1] for path in files if path.startswith("openstack/2012-08-10/")} == {"meta_data.json", "user_data"}
    assert "openstack/2013-10-17/vendor_data.json" in files and "openstack/2013-10-17/network_data.json" not in files
    assert not any(path.startswith("ec2/") for path in files)


def test_json_contents_and_user_data_bytes(tmp_path: Path) -> None:
    meta_data = server_meta_data()
    user_data = bytes(range(256)) * 4  # binary user_data (e.g. gzip) must come back byte for byte
    _dest, files = build(tmp_path, meta_data=meta_data, user_data=user_data)
    assert json_file(files, "openstack/latest/meta_data.json") == meta_data
    assert json_file(files, "openstack/latest/network_data.json") == NETWORK_DATA
    assert json_file(files, "openstack/latest/vendor_data.json") == VENDOR_DATA
    assert json_file(files, "openstack/latest/vendor_data2.json") == {"static": VENDOR_DATA}
    assert files["openstack/latest/user_data"] == user_data
    assert files["openstack/2012-08-10/user_data"] == user_data


def test_older_versions_leave_out_later_keys(tmp_path: Path) -> None:
    meta_data = server_meta_data(
        devices=[
            {"type": "nic", "bus": "pci", "address": "0000:00:03.0", "mac": "fa:16:3e:00:00:01", "tags": ["mgmt"], "vlan": 10, "vf_trusted": False},
            {"type": "share", "bus": "none", "address": "none", "share_id": "s1", "tag": "data"},
        ]
    )
    _dest, files = build(tmp_path, meta_data=meta_data)
    folsom = json_file(files, "openstack/2012-08-10/meta_data.json")
    assert "random_seed" not in folsom and "project_id" not in folsom and "devices" not in folsom
    assert folsom["uuid"] == meta_data["uuid"] and folsom["public_keys"] == meta_data["public_keys"]
    assert "random_seed" in json_file(files, "openstack/2013-04-04/meta_data.json")
    assert json_file(files, "openstack/2016-06-30/meta_data.json")["devices"] == [
        {"type": "nic", "bus": "pci", "address": "0000:00:03.0", "mac": "fa:16:3e:00:00:01", "tags": ["mgmt"]}
    ]
    rocky = json_file(files, "openstack/2018-08-27/meta_data.json")
    assert rocky["devices"] == [meta_data["devices"][0]]
    assert "dedicated_cpus" not in rocky
    assert json_file(files, "openstack/latest/meta_data.json")["devices"] == meta_data["devices"]


def test_defaults_match_novas_empty_documents(tmp_path: Path) -> None:
    _dest, files = build(tmp_path, user_data=None, network_data=None, vendor_data=None)
    assert not any(path.endswith("user_data") for path in files)
    assert json_file(files, "openstack/latest/network_data.json") == {}
    assert json_file(files, "openstack/latest/vendor_data.json") == {}
    assert json_file(files, "openstack/latest/vendor_data2.json") == {"static": {}}


def test_ec2_tree(tmp_path: Path) -> None:
    ec2 = nova_ec2_meta_data(
        instance_id="i-0000002a",
        ami_id="ami-00000001",
        hostname="web-server",
        reservation_id="r-abcdefgh",
        instance_type="m1.tiny",
        availability_zone="nova",
        local_ipv4="10.0.0.5",
        security_groups=["default"],
        key_pair=KEY,
    )
    _dest, files = build(tmp_path, ec2_meta_data=ec2, user_data=b"data")
    for version in ("2009-04-04", "latest"):
        assert json_file(files, f"ec2/{version}/meta-data.json") == ec2
        assert files[f"ec2/{version}/user-data"] == b"data"
    assert ec2["public-keys"] == {"0": {"openssh-key": KEY["public_key"]}}
    assert ec2["hostname"] == ec2["local-hostname"] == "web-server.novalocal"
    assert ec2["placement"] == {"availability-zone": "nova"}


def test_user_data_limit(tmp_path: Path) -> None:
    _dest, files = build(tmp_path, user_data=b"x" * configdrive.USER_DATA_LIMIT)
    assert len(files["openstack/latest/user_data"]) == 64 * 1024
    dest = tmp_path / "too-big.config"
    with pytest.raises(ValueError, match="limit"):
        build_config_drive(dest, meta_data=server_meta_data(), user_data=b"x" * (64 * 1024 + 1), network_data=None, vendor_data=None)
    assert list(tmp_path.iterdir()) == [tmp_path / "disk.config"]


@pytest.mark.parametrize(("meta_data", "user_data"), [({"name": "no uuid"}, None), ({"uuid": "u"}, "text, not bytes")])
def test_bad_input_writes_nothing(tmp_path: Path, meta_data: dict, user_data: object) -> None:
    with pytest.raises(ValueError):
        build_config_drive(tmp_path / "disk.config", meta_data=meta_data, user_data=user_data, network_data=None, vendor_data=None)
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest, files_before = build(tmp_path)
    image_before = dest.read_bytes()

    def fail_midway(self: pycdlib.PyCdlib, fp: io.BufferedIOBase, *args: object, **kwargs: object) -> None:
        fp.write(b"partial image")
        raise OSError("disk full")

    monkeypatch.setattr(pycdlib.PyCdlib, "write_fp", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        build_config_drive(dest, meta_data=server_meta_data(), user_data=None, network_data=None, vendor_data=None)
    assert list(tmp_path.iterdir()) == [dest]  # no temporary file left behind
    assert dest.read_bytes() == image_before  # the previous drive is untouched
    monkeypatch.undo()

    new_meta_data = server_meta_data()
    build_config_drive(dest, meta_data=new_meta_data, user_data=None, network_data=None, vendor_data=None)
    assert list(tmp_path.iterdir()) == [dest]
    assert json_file(read_config_drive(dest), "openstack/latest/meta_data.json") == new_meta_data
    assert files_before["openstack/latest/meta_data.json"] != read_config_drive(dest)["openstack/latest/meta_data.json"]


def test_plain_iso9660_names_are_valid_and_distinct(tmp_path: Path) -> None:
    """Readers without Joliet or Rock Ridge still see a valid, collision-free ISO 9660 tree."""
    dest, files = build(tmp_path, ec2_meta_data={"instance-id": "i-1"})
    iso = pycdlib.PyCdlib()
    iso.open(str(dest))
    try:
        iso_names = [f"{root}/{name}" for root, _dirs, names in iso.walk(iso_path="/") for name in names]
    finally:
        iso.close()
    assert len(iso_names) == len(set(iso_names)) == len(files)
    assert all(name.upper() == name for name in iso_names)


@pytest.mark.skipif(not shutil.which("blkid"), reason="needs blkid (util-linux)")
def test_blkid_sees_the_label(tmp_path: Path) -> None:
    """The label is what guests search for (findfs LABEL=config-2); check it with an independent reader."""
    dest, _files = build(tmp_path)
    probe = subprocess.run(["blkid", "-p", "-o", "export", str(dest)], check=True, capture_output=True, text=True).stdout
    assert "TYPE=iso9660" in probe.splitlines()
    assert "LABEL=config-2" in probe.splitlines()


@pytest.mark.skipif(not shutil.which("isoinfo"), reason="needs isoinfo (genisoimage)")
def test_isoinfo_lists_rock_ridge_names(tmp_path: Path) -> None:
    dest, files = build(tmp_path)
    listing = subprocess.run(["isoinfo", "-R", "-f", "-i", str(dest)], check=True, capture_output=True, text=True).stdout
    assert {line.lstrip("/") for line in listing.splitlines()} >= set(files)
