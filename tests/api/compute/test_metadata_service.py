"""The metadata service as the networking service's proxy calls it: signed instance ids,
the OpenStack tree (meta_data.json, user_data, listings) and the EC2 tree, refusals."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx

from pocketstack.services.compute.metadata import SECRET_FILE, sign_instance_id
from pocketstack.testing.server import LiveCloud
from tests.api.compute.helpers import LATEST, wait_for
from tests.conftest import ServiceClient


def signed(cloud: LiveCloud, instance_id: str) -> dict[str, str]:
    secret = (cloud.data_dir / SECRET_FILE).read_text().strip()
    return {"X-Instance-ID": instance_id, "X-Instance-ID-Signature": sign_instance_id(secret, instance_id)}


def test_metadata_for_a_server(compute_cloud: LiveCloud, nova: ServiceClient, image_id: str) -> None:
    user_data = b"#!/bin/sh\necho from-metadata\n"
    body = {
        "name": "md-vm",
        "imageRef": image_id,
        "flavorRef": "1",
        "networks": "none",
        "metadata": {"role": "db"},
        "user_data": base64.b64encode(user_data).decode(),
    }
    server_id = nova.post("/servers", json={"server": body}, headers=LATEST).json()["server"]["id"]
    try:
        wait_for(nova, server_id, "ACTIVE")
        base = compute_cloud.url + "/compute/metadata"
        refused = httpx.get(
            base + "/openstack/latest/meta_data.json", headers={"X-Instance-ID": server_id, "X-Instance-ID-Signature": "0" * 64}
        )
        assert refused.status_code == 403
        assert httpx.get(base + "/openstack/latest/meta_data.json").status_code == 400
        headers = signed(compute_cloud, server_id)
        meta = httpx.get(base + "/openstack/latest/meta_data.json", headers=headers)
        assert meta.status_code == 200 and meta.headers["content-type"].startswith("application/json")
        data: dict[str, Any] = meta.json()
        assert data["uuid"] == server_id and data["name"] == "md-vm" and data["meta"] == {"role": "db"}
        assert httpx.get(base + "/openstack/latest/user_data", headers=headers).content == user_data
        assert "latest" in httpx.get(base + "/openstack", headers=headers).text.split("\n")
        assert "meta_data.json" in httpx.get(base + "/openstack/latest", headers=headers).text.split("\n")
        ec2 = httpx.get(base + "/latest/meta-data/", headers=headers).text.split("\n")
        assert "instance-id" in ec2 and "placement/" in ec2
        assert httpx.get(base + "/latest/meta-data/placement/availability-zone", headers=headers).text == "nova"
        assert httpx.get(base + "/latest/user-data", headers=headers).content == user_data
        assert json.loads(httpx.get(base + "/openstack/latest/network_data.json", headers=headers).text) == {}
        ghost = str(uuid.uuid4())
        assert httpx.get(base + "/openstack/latest/meta_data.json", headers=signed(compute_cloud, ghost)).status_code == 404
    finally:
        nova.delete(f"/servers/{server_id}")
