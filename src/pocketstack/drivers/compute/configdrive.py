"""Config drives as Nova writes them: an ISO 9660 image labelled ``config-2``.

Guests (cloud-init, cloudbase-init, our test guest) find the drive by its label and read
``openstack/<version>/meta_data.json`` and friends. Nova writes one directory per metadata
version it knows plus ``latest``; older versions hold the subset of files and keys that
existed then, so an old guest agent asking for e.g. ``2013-04-04`` sees what it expects.
The EC2-style tree (``ec2/2009-04-04`` and ``ec2/latest``) is optional here.

The image is built in memory with pycdlib (no genisoimage needed), with Joliet and
Rock Ridge so names such as ``vendor_data2.json`` survive on every reader.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

import pycdlib

VOLUME_LABEL = "config-2"
PUBLISHER = "pocketstack"
USER_DATA_LIMIT = 64 * 1024  # bytes after base64 decoding, as Nova's API enforces

# Nova's OpenStack metadata versions (nova/api/metadata/base.py), oldest first; "latest" is the newest.
FOLSOM, GRIZZLY, HAVANA, LIBERTY = "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15"
NEWTON_ONE, NEWTON_TWO, OCATA, ROCKY = "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27"
VICTORIA, EPOXY = "2020-10-14", "2025-04-04"
OPENSTACK_VERSIONS = (FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA, ROCKY, VICTORIA, EPOXY)
LATEST = "latest"

# Nova skips the EC2 versions before 2009-04-04 on config drives by default (config_drive_skip_versions).
EC2_VERSIONS = ("2009-04-04",)

# meta_data.json keys that appeared after Folsom, with the version that introduced them.
META_DATA_KEY_SINCE = {"random_seed": GRIZZLY, "project_id": LIBERTY, "devices": NEWTON_ONE, "dedicated_cpus": VICTORIA}


def build_config_drive(
    dest: Path,
    *,
    meta_data: Mapping,
    user_data: bytes | None,
    network_data: Mapping | None,
    vendor_data: Mapping | None,
    ec2_meta_data: Mapping | None = None,
    vendor_data2: Mapping | None = None,
) -> None:
    """Write the config drive ISO to `dest`, atomically (a reader never sees a half-written image).

    `meta_data` is the newest form of meta_data.json (see nova_meta_data); older version
    directories get it with later keys removed. `network_data` and `vendor_data` default to
    ``{}`` like Nova's; vendor_data2.json defaults to ``{"static": vendor_data}``, which is what
    Nova's default StaticJSON provider serves. Raises ValueError for bad input, writing nothing.
    """
    files = config_drive_files(
        meta_data=meta_data,
        user_data=user_data,
        network_data=network_data,
        vendor_data=vendor_data,
        ec2_meta_data=ec2_meta_data,
        vendor_data2=vendor_data2,
    )
    write_config_drive(dest, files)


def write_config_drive(dest: Path, files: Mapping[str, bytes]) -> None:
    """Write the ISO holding `files` ({posix path: content}, as config_drive_files makes them) to `dest`, atomically."""
    _write_atomically(Path(dest), lambda out: _write_iso(out, files))


def config_drive_files(
    *,
    meta_data: Mapping,
    user_data: bytes | None,
    network_data: Mapping | None,
    vendor_data: Mapping | None,
    ec2_meta_data: Mapping | None = None,
    vendor_data2: Mapping | None = None,
) -> dict[str, bytes]:
    """Every file of the drive as {posix path: content}, in the order Nova lists them."""
    _check_inputs(meta_data, user_data)
    vendor_data = dict(vendor_data or {})
    vendor_data2 = {"static": vendor_data} if vendor_data2 is None else dict(vendor_data2)
    files: dict[str, bytes] = {}
    if ec2_meta_data is not None:
        for version in (*EC2_VERSIONS, LATEST):
            files[f"ec2/{version}/meta-data.json"] = _json(ec2_meta_data)
            if user_data is not None:
                files[f"ec2/{version}/user-data"] = user_data
    for version in (*OPENSTACK_VERSIONS, LATEST):
        directory = f"openstack/{version}"
        files[f"{directory}/meta_data.json"] = _json(meta_data_for_version(meta_data, version))
        if user_data is not None:
            files[f"{directory}/user_data"] = user_data
        if _since(HAVANA, version):
            files[f"{directory}/vendor_data.json"] = _json(vendor_data)
        if _since(LIBERTY, version):
            files[f"{directory}/network_data.json"] = _json(network_data or {})
        if _since(NEWTON_TWO, version):
            files[f"{directory}/vendor_data2.json"] = _json(vendor_data2)
    return files


def meta_data_for_version(meta_data: Mapping, version: str) -> dict:
    """meta_data.json as a guest asking for `version` sees it: keys and device fields added later are left out."""
    result = {key: value for key, value in meta_data.items() if _since(META_DATA_KEY_SINCE.get(key, FOLSOM), version)}
    if "devices" in result:
        result["devices"] = [device for device in (_device_for_version(d, version) for d in result["devices"]) if device is not None]
    return result


def nova_meta_data(
    *,
    uuid: str,
    name: str,
    hostname: str,
    project_id: str,
    availability_zone: str | None,
    launch_index: int = 0,
    key_pair: Mapping | None = None,
    metadata: Mapping[str, str] | None = None,
    admin_pass: str | None = None,
    devices: Iterable[Mapping] = (),
    dedicated_cpus: Iterable[int] = (),
    dhcp_domain: str | None = "novalocal",
    random_seed: bytes | None = None,
) -> dict:
    """The meta_data.json Nova writes for a server (its ``latest`` form).

    `key_pair` is ``{"name", "type", "public_key"}`` (a keypair as os-keypairs shows it) or None.
    `hostname` is the short name; Nova appends ``.<dhcp_domain>`` (``novalocal`` by default).
    `metadata` is the server metadata, shown as ``meta`` only when not empty (like Nova).
    `random_seed` is for tests; by default 512 fresh random bytes.
    """
    meta_data: dict = {"uuid": uuid}
    if metadata:
        meta_data["meta"] = dict(metadata)
    if admin_pass is not None:
        meta_data["admin_pass"] = admin_pass  # Nova adds it as extra metadata when the password is injected
    if key_pair is not None:
        meta_data["public_keys"] = {key_pair["name"]: key_pair["public_key"]}
        meta_data["keys"] = [{"name": key_pair["name"], "type": key_pair.get("type", "ssh"), "data": key_pair["public_key"]}]
    meta_data["hostname"] = f"{hostname}.{dhcp_domain}" if dhcp_domain else hostname
    meta_data["name"] = name
    meta_data["launch_index"] = launch_index
    meta_data["availability_zone"] = availability_zone
    meta_data["random_seed"] = base64.b64encode(os.urandom(512) if random_seed is None else random_seed).decode("ascii")
    meta_data["project_id"] = project_id
    meta_data["devices"] = [dict(device) for device in devices]
    meta_data["dedicated_cpus"] = sorted(dedicated_cpus)
    return meta_data


def nova_ec2_meta_data(
    *,
    instance_id: str,
    ami_id: str,
    hostname: str,
    reservation_id: str,
    instance_type: str,
    availability_zone: str | None,
    launch_index: int = 0,
    local_ipv4: str = "",
    public_ipv4: str = "",
    security_groups: Iterable[str] = (),
    key_pair: Mapping | None = None,
    block_device_mapping: Mapping[str, str] | None = None,
    kernel_id: str | None = None,
    ramdisk_id: str | None = None,
    dhcp_domain: str | None = "novalocal",
) -> dict:
    """ec2/<version>/meta-data.json as Nova writes it on a config drive (EC2 version 2009-04-04).

    EC2 ids look like ``i-0000002a`` / ``ami-00000001`` (Nova derives them from database ids).
    The public key is under ``public-keys/0/openssh-key``; Nova drops the ``_name`` entry on drives.
    """
    full_hostname = f"{hostname}.{dhcp_domain}" if dhcp_domain else hostname
    meta_data: dict = {
        "ami-id": ami_id,
        "ami-launch-index": launch_index,
        "ami-manifest-path": "FIXME",  # Nova's literal value
        "instance-id": instance_id,
        "hostname": full_hostname,
        "local-ipv4": local_ipv4,
        "reservation-id": reservation_id,
        "security-groups": list(security_groups),
    }
    if key_pair is not None:
        meta_data["public-keys"] = {"0": {"openssh-key": key_pair["public_key"]}}
    meta_data["local-hostname"] = full_hostname
    meta_data["public-hostname"] = full_hostname
    meta_data["public-ipv4"] = public_ipv4
    meta_data["instance-type"] = instance_type
    meta_data["block-device-mapping"] = dict(block_device_mapping or {"ami": "vda", "root": "/dev/vda"})
    if kernel_id:
        meta_data["kernel-id"] = kernel_id
    if ramdisk_id:
        meta_data["ramdisk-id"] = ramdisk_id
    meta_data["placement"] = {"availability-zone": availability_zone}
    meta_data["instance-action"] = "none"
    return meta_data


def read_config_drive(path: Path) -> dict[str, bytes]:
    """Every file of an ISO config drive as {posix path: content}, read through its Rock Ridge names."""
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        files = {}
        for root, _dirs, names in iso.walk(rr_path="/"):
            for name in names:
                rr_path = f"{root.rstrip('/')}/{name}"
                content = io.BytesIO()
                iso.get_file_from_iso_fp(content, rr_path=rr_path)
                files[rr_path.lstrip("/")] = content.getvalue()
        return files
    finally:
        iso.close()


def _check_inputs(meta_data: Mapping, user_data: bytes | None) -> None:
    if not isinstance(meta_data, Mapping) or not meta_data.get("uuid"):
        raise ValueError("meta_data must be a mapping with the server's uuid")
    if user_data is not None:
        if not isinstance(user_data, bytes | bytearray):
            raise ValueError(f"user_data must be bytes, not {type(user_data).__name__}")
        if len(user_data) > USER_DATA_LIMIT:
            raise ValueError(f"user_data is {len(user_data)} bytes; the limit is {USER_DATA_LIMIT}")


def _since(required: str, version: str) -> bool:
    if version == LATEST:
        return True
    return OPENSTACK_VERSIONS.index(version) >= OPENSTACK_VERSIONS.index(required)


def _device_for_version(device: Mapping, version: str) -> dict | None:
    """One entry of ``devices`` as Nova renders it for `version` (None: not shown at that version)."""
    device = dict(device)
    if device.get("type") == "share" and not _since(EPOXY, version):
        return None
    if not _since(OCATA, version):
        device.pop("vlan", None)
    if not _since(ROCKY, version):
        device.pop("vf_trusted", None)
    # Nova hides a NIC that has nothing to say (no tags, vlan or vf_trusted) at that version.
    if device.get("type") == "nic" and not any(key in device for key in ("tags", "vlan", "vf_trusted")):
        return None
    return device


def _json(value: object) -> bytes:
    # Same shape as Nova's jsonutils.dump_as_bytes: json.dumps defaults (ASCII, ", " and ": ").
    return json.dumps(value).encode("ascii")


def _write_iso(out: io.BufferedIOBase, files: Mapping[str, bytes]) -> None:
    iso = pycdlib.PyCdlib()
    # Interchange level 3: names beyond 8.3 in the plain ISO 9660 tree; Joliet and Rock Ridge carry the real names.
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=VOLUME_LABEL, pub_ident_str=PUBLISHER)
    try:
        iso_dirs: dict[PurePosixPath, str] = {PurePosixPath("/"): ""}
        used_names: dict[str, set[str]] = {}
        for posix_path, content in files.items():
            path = PurePosixPath("/") / posix_path
            for directory in reversed(path.parents[:-1]):  # outermost first, without "/"
                if directory not in iso_dirs:
                    parent = iso_dirs[directory.parent]
                    iso_dirs[directory] = f"{parent}/{_unique_iso_name(directory.name, used_names.setdefault(parent, set()), is_dir=True)}"
                    iso.add_directory(iso_dirs[directory], rr_name=directory.name, joliet_path=str(directory))
            parent = iso_dirs[path.parent]
            iso_name = _unique_iso_name(path.name, used_names.setdefault(parent, set()), is_dir=False)
            iso.add_fp(io.BytesIO(content), len(content), f"{parent}/{iso_name};1", rr_name=path.name, joliet_path=str(path))
        iso.write_fp(out)
    finally:
        iso.close()


def _unique_iso_name(name: str, used: set[str], *, is_dir: bool) -> str:
    """A d-character ISO 9660 name for `name` that no sibling has (e.g. vendor_data2.json -> VENDOR_DATA2.JSON)."""
    stem, dot, extension = name.rpartition(".") if "." in name and not is_dir else (name, "", "")
    stem = re.sub(r"[^A-Z0-9_]", "_", stem.upper())[:24] or "_"
    extension = re.sub(r"[^A-Z0-9_]", "_", extension.upper())[:5]
    candidate, number = stem, 0
    while (iso_name := f"{candidate}.{extension}" if dot else candidate) in used:
        number += 1
        candidate = f"{stem[: 24 - len(str(number))]}{number}"
    used.add(iso_name)
    return iso_name


def _write_atomically(dest: Path, write) -> None:
    """Run write(file) on a temporary file next to `dest`, then rename it into place; on failure remove it."""
    fd, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        # mkstemp makes it 0600: the drive may hold admin_pass and user_data, and QEMU runs as our user.
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, dest)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
