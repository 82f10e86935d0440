"""What a server learns about itself: the same files on its config drive and from the
metadata service (Nova's /openstack/<version>/... and the EC2-style /<version>/meta-data/...).

The config drive is built from `instance_files()` by the compute agent. The HTTP service
(api/metadata.py) answers the networking service's metadata proxy, which sits at
169.254.169.254 in the DHCP and router namespaces and tells which server asks with
Neutron's headers: X-Instance-ID and X-Instance-ID-Signature, the HMAC-SHA256 of the
instance id under a secret both sides share (Nova's metadata_proxy_shared_secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pocketstack.drivers.compute.configdrive import config_drive_files, nova_ec2_meta_data, nova_meta_data

from .models import Server

SECRET_FILE = "metadata-proxy-secret"


def key_pair_of(server: Server) -> dict[str, str] | None:
    if not (server.key_name and server.key_data):
        return None
    return {"name": server.key_name, "type": server.system_metadata.get("key_type", "ssh"), "public_key": server.key_data}


def ec2_id(prefix: str, number: int) -> str:
    """Nova's EC2 ids: i-0000002a for the instance with database id 42."""
    return f"{prefix}-{number:08x}"


def instance_files(
    server: Server, *, network_data: Mapping[str, Any] | None = None, local_ipv4: str = "", public_ipv4: str = ""
) -> dict[str, bytes]:
    """Every file of the config drive, which is also the tree the metadata service serves:
    {"openstack/latest/meta_data.json": ..., "ec2/latest/meta-data.json": ..., ...}."""
    key_pair = key_pair_of(server)
    meta_data = nova_meta_data(
        uuid=server.uuid,
        name=server.name,
        hostname=server.hostname,
        project_id=server.project_id,
        availability_zone=server.availability_zone,
        launch_index=server.launch_index,
        key_pair=key_pair,
        metadata=server.metadata_dict,
    )
    ec2 = nova_ec2_meta_data(
        instance_id=ec2_id("i", server.id),
        ami_id=ec2_id("ami", 1),
        hostname=server.hostname,
        reservation_id=server.reservation_id,
        instance_type=str(server.flavor.get("name", "")),
        availability_zone=server.availability_zone,
        launch_index=server.launch_index,
        local_ipv4=local_ipv4,
        public_ipv4=public_ipv4,
        security_groups=server.security_groups,
        key_pair=key_pair,
    )
    user_data = base64.b64decode(server.user_data) if server.user_data else None
    return config_drive_files(meta_data=meta_data, user_data=user_data, network_data=network_data, vendor_data=None, ec2_meta_data=ec2)


# -- the HTTP tree -------------------------------------------------------------------------
def openstack_listing(files: Mapping[str, bytes], path: str) -> str | None:
    """Directory listings of /openstack and /openstack/<version> (names, one per line)."""
    prefix = path.strip("/")
    prefix = prefix + "/" if prefix else ""
    names = sorted({name[len(prefix) :].split("/", 1)[0] for name in files if name.startswith(prefix)})
    return "\n".join(names) if names else None


def ec2_tree(files: Mapping[str, bytes], version: str) -> dict[str, Any] | None:
    """The EC2 meta-data document of `version` ("latest" or 2009-04-04) as a tree."""
    raw = files.get(f"ec2/{version}/meta-data.json")
    return None if raw is None else json.loads(raw)


def ec2_answer(tree: Any, path: list[str]) -> str | None:
    """EC2-style: a directory lists its keys (sub-directories with a trailing '/'), a
    leaf is its value; public-keys lists "0=<key name>" as EC2 does."""
    node = tree
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, dict) and part.split("=")[0] in node:
            node = node[part.split("=")[0]]
        else:
            return None
    if isinstance(node, dict):
        return "\n".join(f"{key}/" if isinstance(value, dict) else str(key) for key, value in node.items())
    if isinstance(node, list):
        return "\n".join(str(item) for item in node)
    return "" if node is None else str(node)


# -- proving which server asks ---------------------------------------------------------------
def shared_secret(data_dir: Path, configured: str | None) -> str:
    """The proxy's shared secret: configured, or made once and kept in the data directory."""
    if configured:
        return configured
    path = data_dir / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp")
        temp.write_text(secrets.token_hex(32))
        temp.chmod(0o600)
        temp.replace(path)
    return path.read_text().strip()


def sign_instance_id(secret: str, instance_id: str) -> str:
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def signature_ok(secret: str, instance_id: str, signature: str) -> bool:
    return hmac.compare_digest(sign_instance_id(secret, instance_id), signature)
