"""Nova's deprecated and proxy APIs that clients still call: os-hosts (up to 2.42),
os-instance_usage_audit_log, /extensions, the image proxy (up to 2.35, its metadata up to
2.38), os-networks (up to 2.35) and the v2.0 version document."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pocketstack.testing.server import LiveCloud
from tests.api.compute.conftest import Member
from tests.api.compute.fakes import Records
from tests.api.compute.helpers import LATEST, mv
from tests.conftest import ServiceClient

OLD = mv("2.35")


# -- os-hosts ----------------------------------------------------------------------------------------
def test_hosts_list_show_and_what_is_not_supported(nova: ServiceClient, member: Callable[..., Member]) -> None:
    hosts = nova.get("/os-hosts", headers=mv("2.42")).json()["hosts"]
    compute = [h for h in hosts if h["service"] == "compute"]
    assert compute and compute[0]["zone"] == "nova"
    name = compute[0]["host_name"]
    assert nova.get("/os-hosts?zone=nova", headers=mv("2.42")).json()["hosts"] == compute
    assert nova.get("/os-hosts?zone=elsewhere", headers=mv("2.42")).json()["hosts"] == []
    assert nova.get("/os-hosts", headers=mv("2.43")).status_code == 404
    detail = nova.get(f"/os-hosts/{name}", headers=mv("2.1")).json()["host"]
    assert [r["resource"]["project"] for r in detail[:3]] == ["(total)", "(used_now)", "(used_max)"]
    assert all(r["resource"]["host"] == name for r in detail)
    assert nova.get("/os-hosts/nowhere").status_code == 404
    assert nova.put(f"/os-hosts/{name}", json={"status": "enable"}).status_code == 501
    assert nova.put(f"/os-hosts/{name}", json={"status": "bogus"}).status_code == 400
    assert nova.put(f"/os-hosts/{name}", json={"status": None, "maintenance_mode": None}).status_code == 400
    assert nova.put("/os-hosts/nowhere", json={"maintenance_mode": "disable"}).status_code == 404
    assert nova.get(f"/os-hosts/{name}/reboot").status_code == 501
    assert nova.get("/os-hosts/nowhere/shutdown").status_code == 404
    assert member().nova.get("/os-hosts").status_code == 403


@pytest.fixture
def records(compute_cloud: LiveCloud) -> Iterator[Records]:
    made = Records(compute_cloud)
    yield made
    made.close()


def test_hosts_shows_disabled_hosts_no_more(nova: ServiceClient, records: Records) -> None:
    host = records.add_host(disabled=True)
    try:
        assert host.name not in [h["host_name"] for h in nova.get("/os-hosts").json()["hosts"]]
    finally:
        records.remove_host(host.name)


# -- os-instance_usage_audit_log --------------------------------------------------------------------------
def test_usage_audit_log_reports_no_host_has_audited(nova: ServiceClient, member: Callable[..., Member]) -> None:
    current = nova.get("/os-instance_usage_audit_log").json()["instance_usage_audit_logs"]
    assert current["num_hosts"] >= 1 and current["num_hosts_not_run"] == current["num_hosts"] and current["log"] == {}
    old = nova.get("/os-instance_usage_audit_log/2024-03-15 10:00:00").json()["instance_usage_audit_log"]
    assert (old["period_beginning"], old["period_ending"]) == ("2024-02-01 00:00:00", "2024-03-01 00:00:00")
    # a period ending exactly at the given time has not completed yet
    january = nova.get("/os-instance_usage_audit_log/2024-02-01 00:00:00.000000").json()["instance_usage_audit_log"]
    assert (january["period_beginning"], january["period_ending"]) == ("2023-12-01 00:00:00", "2024-01-01 00:00:00")
    assert nova.get("/os-instance_usage_audit_log/yesterday").status_code == 400
    assert member().nova.get("/os-instance_usage_audit_log").status_code == 403


# -- /extensions ---------------------------------------------------------------------------------------
def test_extensions_list_and_show(member: Callable[..., Member]) -> None:
    client = member().nova
    listed = client.get("/extensions").json()["extensions"]
    assert "Hosts" in [e["name"] for e in listed] and [e["alias"] for e in listed] == sorted(e["alias"] for e in listed)
    shown = client.get("/extensions/os-consoles").json()["extension"]
    assert shown["alias"] == "os-consoles" and shown["links"] == [] and shown["updated"]
    assert client.get("/extensions/os-nothing").status_code == 404


# -- the image proxy ------------------------------------------------------------------------------------
@pytest.fixture
def own_image(member: Callable[..., Member]) -> Iterator[tuple[Member, dict[str, Any]]]:
    alice = member()
    glance = alice.nova.service("/image")
    body = {"name": f"proxy-{uuid.uuid4().hex[:6]}", "disk_format": "raw", "container_format": "bare", "os_distro": "busybox"}
    image = glance.post("/v2/images", json=body).json()
    glance.put(f"/v2/images/{image['id']}/file", content=b"x" * 1024, headers={"Content-Type": "application/octet-stream"})
    yield alice, image
    glance.delete(f"/v2/images/{image['id']}")


def test_image_proxy_list_show_filters_and_delete(own_image: tuple[Member, dict[str, Any]]) -> None:
    alice, image = own_image
    nova = alice.nova
    listed = nova.get("/images", headers=OLD).json()["images"]
    entry = next(i for i in listed if i["id"] == image["id"])
    assert set(entry) == {"id", "name", "links"} and [link["rel"] for link in entry["links"]] == ["self", "bookmark", "alternate"]
    shown = nova.get(f"/images/{image['id']}", headers=OLD).json()["image"]
    assert shown["status"] == "ACTIVE" and shown["progress"] == 100 and shown["OS-EXT-IMG-SIZE:size"] == 1024
    assert shown["metadata"] == {"os_distro": "busybox"} and shown["minRam"] == 0 and "server" not in shown
    assert [i["id"] for i in nova.get(f"/images/detail?name={image['name']}", headers=OLD).json()["images"]] == [image["id"]]
    assert [i["id"] for i in nova.get("/images?property-os_distro=busybox&status=ACTIVE", headers=OLD).json()["images"]] == [image["id"]]
    assert nova.get("/images?server=" + str(uuid.uuid4()), headers=OLD).json()["images"] == []
    paged = nova.get("/images?limit=1", headers=OLD).json()
    assert len(paged["images"]) == 1 and paged["images_links"][0]["rel"] == "next"
    assert nova.get("/images", headers=mv("2.36")).status_code == 404
    assert nova.get(f"/images/{uuid.uuid4()}", headers=OLD).status_code == 404
    assert nova.delete(f"/images/{image['id']}", headers=OLD).status_code == 204
    assert nova.service("/image").get(f"/v2/images/{image['id']}").status_code == 404


def test_image_proxy_metadata(own_image: tuple[Member, dict[str, Any]], member: Callable[..., Member]) -> None:
    alice, image = own_image
    base = f"/images/{image['id']}/metadata"
    nova = alice.nova
    assert nova.get(base).json() == {"metadata": {"os_distro": "busybox"}}
    assert nova.post(base, json={"metadata": {"a": "1"}}).json()["metadata"] == {"os_distro": "busybox", "a": "1"}
    assert nova.put(base, json={"metadata": {"b": "2"}}).json() == {"metadata": {"b": "2"}}
    assert nova.service("/image").get(f"/v2/images/{image['id']}").json().get("os_distro") is None
    assert nova.put(f"{base}/c", json={"meta": {"c": "3"}}).json() == {"meta": {"c": "3"}}
    assert nova.put(f"{base}/c", json={"meta": {"d": "3"}}).status_code == 400
    assert nova.get(f"{base}/c").json() == {"meta": {"c": "3"}}
    assert nova.delete(f"{base}/c").status_code == 204
    assert nova.get(f"{base}/c").status_code == 404
    assert nova.delete(f"{base}/c").status_code == 404
    assert nova.get(base, headers=mv("2.39")).status_code == 404
    # another project neither sees the private image nor changes it
    assert member().nova.post(base, json={"metadata": {"x": "1"}}).status_code == 404


# -- os-networks ------------------------------------------------------------------------------------------
def test_networks_proxy_without_the_networking_service(nova: ServiceClient, member: Callable[..., Member]) -> None:
    assert member().nova.get("/os-networks").json() == {"networks": []}
    assert nova.get(f"/os-networks/{uuid.uuid4()}").status_code == 404
    assert nova.get("/os-networks", headers=mv("2.36")).status_code == 404


# -- versions -----------------------------------------------------------------------------------------------
def test_every_listed_version_has_its_document(compute_cloud: LiveCloud) -> None:
    for version in httpx.get(compute_cloud.url + "/compute/").json()["versions"]:
        self_link = next(link["href"] for link in version["links"] if link["rel"] == "self")
        document = httpx.get(self_link, headers=LATEST).json()["version"]
        assert document["id"] == version["id"] and document["links"][0]["href"] == self_link
