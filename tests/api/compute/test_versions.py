"""Compute version discovery and microversion negotiation on a real route."""

from __future__ import annotations

import httpx

from pocketstack.testing.server import LiveCloud
from tests.conftest import ServiceClient


def test_version_documents(compute_cloud: LiveCloud) -> None:
    listed = httpx.get(compute_cloud.url + "/compute/").json()["versions"]
    # Nova lists its unversioned v2.0 first (Tempest checks the order), then v2.1
    assert [(v["id"], v["status"], v["min_version"]) for v in listed] == [("v2.0", "SUPPORTED", ""), ("v2.1", "CURRENT", "2.1")]
    one = httpx.get(compute_cloud.url + "/compute/v2.1").json()["version"]
    assert one["version"] == listed[1]["version"] and one["links"][0]["href"].endswith("/compute/v2.1/")
    assert one["media-types"][0]["type"] == "application/vnd.openstack.compute+json;version=2.1"


def test_microversion_headers(nova: ServiceClient) -> None:
    latest = nova.get("/", headers={"OpenStack-API-Version": "compute latest"})
    maximum = httpx.get(nova.cloud.url + "/compute/v2.1").json()["version"]["version"]
    assert latest.headers["OpenStack-API-Version"] == f"compute {maximum}"
    assert nova.get("/", headers={"X-OpenStack-Nova-API-Version": "2.47"}).headers["X-OpenStack-Nova-API-Version"] == "2.47"
    too_new = nova.get("/", headers={"OpenStack-API-Version": "compute 9.99"})
    assert too_new.status_code == 406 and "not supported" in too_new.json()["notAcceptable"]["message"]
    assert nova.get("/", headers={"OpenStack-API-Version": "compute 2.x"}).status_code == 400


def test_catalog_has_compute(compute_cloud: LiveCloud, nova: ServiceClient) -> None:
    catalog = nova.service("/identity/v3").get("/auth/catalog").json()["catalog"]
    compute = next(entry for entry in catalog if entry["type"] == "compute")
    assert compute["name"] == "nova"
    assert {ep["url"] for ep in compute["endpoints"]} == {compute_cloud.url + "/compute/v2.1"}
