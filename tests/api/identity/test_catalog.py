"""The catalog: regions, services, endpoints, OS-EP-FILTER endpoint groups, and the
catalog tokens carry."""

from __future__ import annotations

import json
from typing import Any

from pocketstack.services.identity.backend.catalog import CatalogEndpoint, CatalogService, CatalogSnapshot, fill_url
from tests.conftest import Identity, make_project, unique


def _service(admin: Identity, **fields: Any) -> dict[str, Any]:
    reply = admin.post("/services", json={"service": {"type": unique("type"), "name": unique("svc"), **fields}})
    assert reply.status_code == 201, reply.text
    return reply.json()["service"]


def _endpoint(admin: Identity, service_id: str, **fields: Any) -> dict[str, Any]:
    body = {"service_id": service_id, "interface": "public", "url": f"http://{unique('h')}.example:80/v1", **fields}
    reply = admin.post("/endpoints", json={"endpoint": body})
    assert reply.status_code == 201, reply.text
    return reply.json()["endpoint"]


# -- regions --------------------------------------------------------------------------


def test_region_tree_crud(admin: Identity) -> None:
    made = admin.post("/regions", json={"region": {"description": "top", "colour": "blue"}})
    assert made.status_code == 201, made.text
    top = made.json()["region"]
    assert len(top["id"]) == 32 and top["parent_region_id"] is None and top["colour"] == "blue"
    child_id = unique("r")
    child = admin.put(f"/regions/{child_id}", json={"region": {"parent_region_id": top["id"]}})
    assert child.status_code == 201, child.text
    assert child.json()["region"] == {
        "id": child_id, "description": "", "parent_region_id": top["id"], "links": child.json()["region"]["links"]
    }
    assert admin.put(f"/regions/{child_id}", json={"region": {}}).status_code == 409
    assert admin.put(f"/regions/{unique('r')}", json={"region": {"id": "other"}}).status_code == 400
    assert admin.post("/regions", json={"region": {"parent_region_id": "nowhere"}}).status_code == 404

    listed = admin.get("/regions", params={"parent_region_id": top["id"]}).json()["regions"]
    assert [r["id"] for r in listed] == [child_id]
    # a region may not become its own ancestor
    cycle = admin.patch(f"/regions/{top['id']}", json={"region": {"parent_region_id": child_id}})
    assert cycle.status_code == 400
    patched = admin.patch(f"/regions/{child_id}", json={"region": {"description": "below"}})
    assert patched.json()["region"]["description"] == "below"
    assert admin.patch(f"/regions/{child_id}", json={"region": {}}).status_code == 400

    # deleting the top takes the child along
    assert admin.delete(f"/regions/{top['id']}").status_code == 204
    assert admin.get(f"/regions/{child_id}").status_code == 404


def test_region_with_endpoints_cannot_be_deleted(admin: Identity) -> None:
    region_id = unique("r")
    assert admin.put(f"/regions/{region_id}", json={"region": {}}).status_code == 201
    sub_id = unique("r")
    assert admin.put(f"/regions/{sub_id}", json={"region": {"parent_region_id": region_id}}).status_code == 201
    svc = _service(admin)
    ep = _endpoint(admin, svc["id"], region_id=sub_id)
    refused = admin.delete(f"/regions/{region_id}")
    assert refused.status_code == 403 and "endpoints" in refused.json()["error"]["message"]
    assert admin.delete(f"/services/{svc['id']}").status_code == 204
    assert admin.get(f"/endpoints/{ep['id']}").status_code == 404  # the service took its endpoint
    assert admin.delete(f"/regions/{region_id}").status_code == 204


def test_cli_regions(osc) -> None:
    name = unique("Region")
    made = json.loads(osc("region", "create", "--description", "by the cli", name, "-f", "json").stdout)
    assert made["region"] == name and made["description"] == "by the cli"
    listed = json.loads(osc("region", "list", "-f", "json").stdout)
    assert name in {r["Region"] for r in listed}
    osc("region", "delete", name)
    assert name not in {r["Region"] for r in json.loads(osc("region", "list", "-f", "json").stdout)}


# -- services and endpoints -----------------------------------------------------------


def test_service_crud_and_filters(admin: Identity) -> None:
    svc = _service(admin, description="first", extra_field=1)
    assert svc["enabled"] is True and svc["description"] == "first" and svc["extra_field"] == 1
    bare = _service(admin)
    assert "description" not in bare  # Keystone shows one only when given
    assert admin.post("/services", json={"service": {"name": "no type"}}).status_code == 400
    assert admin.post("/services", json={"service": {"type": "t", "enabled": "yes"}}).status_code == 400

    by_type = admin.get("/services", params={"type": svc["type"]}).json()["services"]
    assert [s["id"] for s in by_type] == [svc["id"]]
    by_name = admin.get("/services", params={"name": bare["name"]}).json()["services"]
    assert [s["id"] for s in by_name] == [bare["id"]]

    patched = admin.patch(f"/services/{svc['id']}", json={"service": {"description": "second", "enabled": False}})
    assert patched.status_code == 200, patched.text
    shown = admin.get(f"/services/{svc['id']}").json()["service"]
    assert shown["description"] == "second" and shown["enabled"] is False and shown["name"] == svc["name"]
    for s in (svc, bare):
        assert admin.delete(f"/services/{s['id']}").status_code == 204
    assert admin.get(f"/services/{svc['id']}").status_code == 404


def test_endpoint_crud_validation_and_legacy_region(admin: Identity) -> None:
    svc = _service(admin)
    region = unique("r")
    ep = _endpoint(admin, svc["id"], region=region, enabled=True)  # v3.0 `region` makes the region
    assert ep["region"] == region and ep["region_id"] == region and ep["enabled"] is True
    assert admin.get(f"/regions/{region}").status_code == 200

    bad = [
        {"enabled": "True"},
        {"enabled": "False"},
        {"interface": "private"},
        {"url": "no-scheme"},
        {"url": "http://x/$(tenant)s"},
        {"service_id": "missing"},
        {"region_id": "missing"},
    ]
    for fields in bad:
        body = {"service_id": svc["id"], "interface": "public", "url": "http://x/", **fields}
        assert admin.post("/endpoints", json={"endpoint": body}).status_code == 400, fields
        assert admin.patch(f"/endpoints/{ep['id']}", json={"endpoint": fields}).status_code == 400, fields

    templated = _endpoint(admin, svc["id"], interface="internal", url="http://x/v3/$(project_id)s")
    assert templated["url"].endswith("$(project_id)s")
    moved = admin.patch(
        f"/endpoints/{ep['id']}", json={"endpoint": {"interface": "admin", "enabled": False, "region": unique("r")}}
    ).json()["endpoint"]
    assert moved["interface"] == "admin" and moved["enabled"] is False and moved["region"] != region

    ids = lambda **q: {e["id"] for e in admin.get("/endpoints", params=q).json()["endpoints"]}  # noqa: E731
    assert ids(service_id=svc["id"]) == {ep["id"], templated["id"]}
    assert ids(service_id=svc["id"], interface="internal") == {templated["id"]}
    assert ids(region_id=moved["region_id"]) == {ep["id"]}
    assert admin.get("/endpoints", params={"interface": "bogus"}).status_code == 400
    assert admin.delete(f"/endpoints/{ep['id']}").status_code == 204
    assert admin.delete(f"/endpoints/{ep['id']}").status_code == 404
    assert admin.delete(f"/services/{svc['id']}").status_code == 204


def test_cli_service_endpoint_and_catalog(osc, admin: Identity) -> None:
    stype = unique("type")
    svc = json.loads(osc("service", "create", "--name", "x", "--description", "y", stype, "-f", "json").stdout)
    assert svc["type"] == stype and svc["description"] == "y"
    ep = json.loads(osc("endpoint", "create", "--region", "RegionOne", svc["id"], "public", "http://x.example/v1", "-f", "json").stdout)
    assert ep["service_type"] == stype and ep["url"] == "http://x.example/v1"
    listed = json.loads(osc("endpoint", "list", "--service", svc["id"], "-f", "json").stdout)
    assert [e["ID"] for e in listed] == [ep["id"]]
    catalog = json.loads(osc("catalog", "list", "-f", "json").stdout)
    assert stype in {c["Type"] for c in catalog}
    osc("service", "set", "--disable", svc["id"])
    assert stype not in {c["type"] for c in admin.get("/auth/catalog").json()["catalog"]}
    osc("service", "delete", svc["id"])


def test_auth_catalog_has_identity(admin: Identity) -> None:
    reply = admin.get("/auth/catalog")
    assert reply.status_code == 200
    identity = [c for c in reply.json()["catalog"] if c["type"] == "identity"]
    assert identity and {e["interface"] for e in identity[0]["endpoints"]} == {"public", "internal", "admin"}


# -- OS-EP-FILTER ---------------------------------------------------------------------


def test_endpoint_groups_and_project_associations(admin: Identity, osc) -> None:
    svc = _service(admin)
    public = _endpoint(admin, svc["id"])
    internal = _endpoint(admin, svc["id"], interface="internal")
    project = make_project(admin)
    ep = "/OS-EP-FILTER"

    bad = [{"name": "g", "filters": {}}, {"name": "g", "filters": {"enabled": True}}, {"name": "g", "filters": {"interface": "x"}}]
    for body in bad:
        assert admin.post(f"{ep}/endpoint_groups", json={"endpoint_group": body}).status_code == 400, body
    made = admin.post(f"{ep}/endpoint_groups", json={"endpoint_group": {"name": unique("g"), "filters": {"service_id": svc["id"]}}})
    assert made.status_code == 201, made.text
    group = made.json()["endpoint_group"]
    assert group["filters"] == {"service_id": svc["id"]} and group["description"] is None
    assert admin.request("HEAD", f"{ep}/endpoint_groups/{group['id']}").status_code == 200
    assert group in admin.get(f"{ep}/endpoint_groups").json()["endpoint_groups"]
    in_group = {e["id"] for e in admin.get(f"{ep}/endpoint_groups/{group['id']}/endpoints").json()["endpoints"]}
    assert in_group == {public["id"], internal["id"]}

    narrowed = admin.patch(f"{ep}/endpoint_groups/{group['id']}", json={"endpoint_group": {"filters": {"service_id": svc["id"], "interface": "internal"}}})
    assert narrowed.status_code == 200, narrowed.text
    in_group = [e["id"] for e in admin.get(f"{ep}/endpoint_groups/{group['id']}/endpoints").json()["endpoints"]]
    assert in_group == [internal["id"]]

    # the group and one endpoint tied to the project
    link = f"{ep}/endpoint_groups/{group['id']}/projects/{project['id']}"
    assert admin.put(link).status_code == 204
    assert admin.put(link).status_code == 409
    assert admin.get(link).json()["project_endpoint_group"]["project_id"] == project["id"]
    direct = f"{ep}/projects/{project['id']}/endpoints/{public['id']}"
    assert admin.request("HEAD", direct).status_code == 404
    assert admin.put(direct).status_code == 204
    assert admin.request("HEAD", direct).status_code == 204
    seen = {e["id"] for e in admin.get(f"{ep}/projects/{project['id']}/endpoints").json()["endpoints"]}
    assert seen == {public["id"], internal["id"]}
    assert [g["id"] for g in admin.get(f"{ep}/projects/{project['id']}/endpoint_groups").json()["endpoint_groups"]] == [group["id"]]
    assert [p["id"] for p in admin.get(f"{ep}/endpoints/{public['id']}/projects").json()["projects"]] == [project["id"]]
    assert [p["id"] for p in admin.get(f"{ep}/endpoint_groups/{group['id']}/projects").json()["projects"]] == [project["id"]]
    assert admin.put(f"{ep}/projects/{project['id']}/endpoints/nope").status_code == 404
    assert admin.put(f"{ep}/endpoint_groups/{group['id']}/projects/nope").status_code == 404

    # the stock CLI sees the same associations
    listed = json.loads(osc("endpoint", "list", "--project", project["id"], "-f", "json").stdout)
    assert {e["ID"] for e in listed} == {public["id"], internal["id"]}

    assert admin.delete(direct).status_code == 204
    assert admin.delete(direct).status_code == 404
    assert admin.delete(f"{ep}/endpoint_groups/{group['id']}").status_code == 204
    assert admin.get(f"{ep}/projects/{project['id']}/endpoints").json()["endpoints"] == []
    assert admin.delete(f"/services/{svc['id']}").status_code == 204


def test_cli_endpoint_group(osc, tmp_path) -> None:
    name = unique("eg")
    filters = tmp_path / "filters.json"
    filters.write_text(json.dumps({"interface": "public"}))
    made = json.loads(osc("endpoint", "group", "create", "--description", "d", name, str(filters), "-f", "json").stdout)
    assert made["name"] == name and made["filters"] == {"interface": "public"}
    osc("endpoint", "group", "delete", made["id"])


def test_catalog_snapshot_filters_and_fills_urls() -> None:
    ep = lambda i, iface, url, enabled=True: CatalogEndpoint(i, "s1", iface, url, "R1", enabled)  # noqa: E731
    svc = CatalogService("s1", "volumev3", "cinder", (ep("e1", "public", "http://v/$(project_id)s"), ep("e2", "internal", "http://i/"), ep("e3", "admin", "http://a/", False)))
    other = CatalogService("s2", "image", "glance", (CatalogEndpoint("e4", "s2", "public", "http://g/", "R1", True),))
    snap = CatalogSnapshot([svc, other], direct={"p1": {"e1"}}, grouped={"p2": [{"interface": "internal"}]})

    # no project: the templated URL cannot be filled, so that endpoint is left out
    unscoped = snap.render()
    assert [[e["id"] for e in s["endpoints"]] for s in unscoped] == [["e2"], ["e4"]]
    # a project with associations sees only those, and services with none disappear
    p1 = snap.render("p1", "u1")
    assert [s["id"] for s in p1] == ["s1"] and p1[0]["endpoints"][0]["url"] == "http://v/p1"
    assert [e["id"] for s in snap.render("p2") for e in s["endpoints"]] == ["e2"]
    # a project without associations sees everything
    assert len([e for s in snap.render("p3") for e in s["endpoints"]]) == 3
    assert fill_url("http://x/$(user_id)s/$(tenant_id)s", {"user_id": "u", "tenant_id": "t"}) == "http://x/u/t"
