"""Nova's flavors API: flavors across microversions, private flavors and their project
access, extra specs, the default flavors of a new cloud, bodies checked against the
compute OpenAPI description, and the stock `openstack flavor` commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pocketstack.testing.spec import ApiSpec, validate_body
from tests.api.compute.conftest import Member
from tests.conftest import ServiceClient, unique


def at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def call(spec: ApiSpec | None, client: ServiceClient, method: str, path: str, expected: int, version: str = "2.1", **kw: Any) -> Any:
    """One request that must answer `expected`; a JSON answer is checked against the spec."""
    reply = client.request(method, "/" + path.lstrip("/"), headers=at(version), **kw)
    assert reply.status_code == expected, f"{method} {path} at {version}: {reply.status_code} {reply.text[:500]}"
    body = reply.json() if reply.content else None
    if spec is not None and body is not None and expected < 300:
        spec.check(method, "/v2.1/" + path.lstrip("/"), expected, body)
    return body


def fault(client: ServiceClient, method: str, path: str, expected: int, version: str = "2.1", **kw: Any) -> str:
    """A request that must fail with `expected`, in Nova's error format; returns the message."""
    reply = client.request(method, "/" + path.lstrip("/"), headers=at(version), **kw)
    assert reply.status_code == expected, f"{method} {path} at {version}: {reply.status_code} {reply.text[:500]}"
    ((key, inner),) = reply.json().items()
    assert inner["code"] == expected and inner["message"], reply.text
    return inner["message"]


def new_flavor(nova: ServiceClient, version: str = "2.1", **fields: Any) -> dict[str, Any]:
    body = {"name": unique("flavor"), "ram": 256, "vcpus": 1, "disk": 1, **fields}
    reply = nova.post("/flavors", json={"flavor": body}, headers=at(version))
    assert reply.status_code == 200, reply.text
    return reply.json()["flavor"]


def names_in(client: ServiceClient, path: str = "flavors", version: str = "2.1") -> set[str]:
    reply = client.get("/" + path, headers=at(version))
    assert reply.status_code == 200, reply.text
    return {flavor["name"] for flavor in reply.json()["flavors"]}


def test_default_flavors(spec: ApiSpec | None, nova: ServiceClient) -> None:
    listed = call(spec, nova, "GET", "flavors/detail", 200, "2.1")["flavors"]
    by_name = {flavor["name"]: flavor for flavor in listed}
    sizes = {
        name: (by_name[name]["id"], by_name[name]["ram"], by_name[name]["vcpus"], by_name[name]["disk"])
        for name in by_name
        if name.startswith("m1.")
    }
    assert sizes == {
        "m1.tiny": ("1", 512, 1, 1),
        "m1.small": ("2", 2048, 1, 20),
        "m1.medium": ("3", 4096, 2, 40),
        "m1.large": ("4", 8192, 4, 80),
        "m1.xlarge": ("5", 16384, 8, 160),
        "m1.nano": ("42", 128, 1, 1),
    }
    assert all(by_name[name]["os-flavor-access:is_public"] for name in sizes)
    # flavorid order by default, as strings
    ids = [flavor["id"] for flavor in listed]
    assert ids == sorted(ids)


def test_views_across_microversions(spec: ApiSpec | None, nova: ServiceClient) -> None:
    flavor = new_flavor(nova, "2.55", id=unique("f"), description="for testing", rxtx_factor="2.5", swap=0)
    one = f"flavors/{flavor['id']}"
    old = call(spec, nova, "GET", one, 200, "2.1")["flavor"]
    assert old["swap"] == "" and "description" not in old and "extra_specs" not in old
    assert old["rxtx_factor"] == 2.5 and old["OS-FLV-DISABLED:disabled"] is False and old["OS-FLV-EXT-DATA:ephemeral"] == 0
    assert {link["rel"]: link["href"] for link in old["links"]} == {
        "self": f"{nova.cloud.url}/compute/v2.1/{one}",
        "bookmark": f"{nova.cloud.url}/compute/{one}",
    }
    assert call(spec, nova, "GET", one, 200, "2.55")["flavor"]["description"] == "for testing"
    assert "extra_specs" not in call(spec, nova, "GET", one, 200, "2.60")["flavor"]
    assert call(spec, nova, "GET", one, 200, "2.61")["flavor"]["extra_specs"] == {}
    assert call(spec, nova, "GET", one, 200, "2.75")["flavor"]["swap"] == 0
    summary = next(f for f in call(spec, nova, "GET", "flavors", 200, "2.55")["flavors"] if f["id"] == flavor["id"])
    assert set(summary) == {"id", "name", "links", "description"}
    summary = next(f for f in call(spec, nova, "GET", "flavors", 200, "2.54")["flavors"] if f["id"] == flavor["id"])
    assert set(summary) == {"id", "name", "links"}
    detail = next(f for f in call(spec, nova, "GET", "flavors/detail", 200, "latest")["flavors"] if f["id"] == flavor["id"])
    assert detail["extra_specs"] == {} and detail["swap"] == 0 and detail["description"] == "for testing"


def test_create_forms_and_delete(spec: ApiSpec | None, nova: ServiceClient) -> None:
    made = call(
        spec,
        nova,
        "POST",
        "flavors",
        200,
        "2.1",
        json={
            "flavor": {
                "name": unique("f"),
                "ram": "512",
                "vcpus": "2",
                "disk": "3",
                "swap": 64,
                "OS-FLV-EXT-DATA:ephemeral": 4,
                "os-flavor-access:is_public": "false",
            }
        },
    )["flavor"]
    assert len(made["id"]) == 36  # no id given: a UUID
    assert (made["ram"], made["vcpus"], made["disk"], made["swap"], made["OS-FLV-EXT-DATA:ephemeral"], made["rxtx_factor"]) == (
        512,
        2,
        3,
        64,
        4,
        1.0,
    )
    assert made["os-flavor-access:is_public"] is False
    numbered = new_flavor(nova, id=987654)
    assert numbered["id"] == "987654"
    described = new_flavor(nova, "2.55")
    assert described["description"] is None
    for flavor_id in (made["id"], numbered["id"], described["id"]):
        reply = nova.delete(f"/flavors/{flavor_id}")
        assert reply.status_code == 202 and reply.content == b""
        fault(nova, "GET", f"flavors/{flavor_id}", 404)
    assert "could not be found" in fault(nova, "DELETE", f"flavors/{made['id']}", 404)


@pytest.mark.parametrize(
    "fields",
    [
        {"ram": 0},
        {"vcpus": 0},
        {"disk": -1},
        {"ram": 1.5},
        {"ram": True},
        {"ram": "12a"},
        {"ram": 2**31},
        {"swap": ""},
        {"OS-FLV-EXT-DATA:ephemeral": -1},
        {"rxtx_factor": 0},
        {"rxtx_factor": "fast"},
        {"os-flavor-access:is_public": "maybe"},
        {"name": ""},
        {"name": " padded"},
        {"name": "x" * 256},
        {"name": "bell\x07"},
        {"id": ""},
        {"id": " lead"},
        {"id": "a/b"},
        {"id": True},
        {"description": "only from 2.55"},
        {"unknown": 1},
    ],
)
def test_create_refuses_bad_values(nova: ServiceClient, fields: dict[str, Any]) -> None:
    name = fields.get("name", unique("bad"))
    body = {"name": name, "ram": 256, "vcpus": 1, "disk": 1, **fields}
    fault(nova, "POST", "flavors", 400, json={"flavor": body})
    assert name not in names_in(nova, "flavors?is_public=none")


def test_create_refuses_missing_and_duplicates(nova: ServiceClient) -> None:
    for missing in ("name", "ram", "vcpus", "disk"):
        body = {"name": unique("bad"), "ram": 256, "vcpus": 1, "disk": 1}
        del body[missing]
        fault(nova, "POST", "flavors", 400, json={"flavor": body})
    fault(nova, "POST", "flavors", 400, json={"flavor": {"name": unique(), "ram": 1, "vcpus": 1, "disk": 1}, "extra": 1})
    fault(nova, "POST", "flavors", 400, json={"name": unique(), "ram": 1, "vcpus": 1, "disk": 1})
    fault(nova, "POST", "flavors", 400, "2.55", json={"flavor": {"name": unique(), "ram": 1, "vcpus": 1, "disk": 1, "description": "\x00"}})
    first = new_flavor(nova, id=unique("dup"))
    assert "already exists" in fault(
        nova, "POST", "flavors", 409, json={"flavor": {"name": first["name"], "ram": 1, "vcpus": 1, "disk": 1}}
    )
    other = unique("other")
    assert "already exists" in fault(
        nova, "POST", "flavors", 409, json={"flavor": {"name": other, "id": first["id"], "ram": 1, "vcpus": 1, "disk": 1}}
    )
    assert other not in names_in(nova, "flavors?is_public=none")


def test_update_description(spec: ApiSpec | None, nova: ServiceClient) -> None:
    flavor = new_flavor(nova, "2.55", description="before")
    one = f"flavors/{flavor['id']}"
    fault(nova, "PUT", one, 404, "2.54", json={"flavor": {"description": "x"}})
    updated = call(spec, nova, "PUT", one, 200, "2.55", json={"flavor": {"description": "after"}})["flavor"]
    assert updated["description"] == "after" and updated["name"] == flavor["name"]
    assert call(spec, nova, "PUT", one, 200, "2.55", json={"flavor": {"description": None}})["flavor"]["description"] is None
    fault(nova, "PUT", one, 400, "2.55", json={"flavor": {"name": "renamed"}})
    fault(nova, "PUT", one, 400, "2.55", json={"flavor": {"description": "x", "ram": 1}})
    fault(nova, "PUT", "flavors/no-such-flavor", 404, "2.55", json={"flavor": {"description": "x"}})
    assert call(spec, nova, "GET", one, 200, "2.55")["flavor"]["description"] is None


def test_list_filters_sorting_and_pages(spec: ApiSpec | None, nova: ServiceClient) -> None:
    tag = unique("size")
    made = [new_flavor(nova, name=f"{tag}-{i}", id=f"{tag}-{i}", ram=100000 + i, disk=5000 + i) for i in range(3)]
    big = [f["id"] for f in call(spec, nova, "GET", "flavors?minRam=100001", 200)["flavors"] if f["id"].startswith(tag)]
    assert big == [made[1]["id"], made[2]["id"]]
    big = [f["id"] for f in call(spec, nova, "GET", "flavors/detail?minDisk=5002", 200)["flavors"] if f["id"].startswith(tag)]
    assert big == [made[2]["id"]]
    down = [f["id"] for f in call(spec, nova, "GET", "flavors?sort_key=memory_mb&sort_dir=desc&minRam=100000", 200)["flavors"]]
    assert down[:3] == [made[2]["id"], made[1]["id"], made[0]["id"]]
    # one per page, following the next links to the end
    seen, path = [], "flavors?minRam=100000&sort_key=memory_mb&limit=1"
    while path:
        page = call(spec, nova, "GET", path, 200)
        seen += [f["id"] for f in page["flavors"]]
        links = page.get("flavors_links", [])
        assert [link["rel"] for link in links] in ([], ["next"])
        path = links[0]["href"].split("/compute/v2.1/", 1)[1] if links else ""
    assert [i for i in seen if i.startswith(tag)] == [f["id"] for f in made]
    assert len(seen) == len(set(seen))
    fault(nova, "GET", "flavors?minRam=lots", 400)
    fault(nova, "GET", "flavors?minDisk=1.5", 400)
    fault(nova, "GET", "flavors?sort_key=colour", 400)
    fault(nova, "GET", "flavors?sort_dir=sideways", 400)
    fault(nova, "GET", "flavors?limit=-1", 400)
    fault(nova, "GET", "flavors?marker=no-such-flavor", 400)
    fault(nova, "GET", "flavors?is_public=perhaps", 400)
    # 2.75 closed the query schema; before it, unknown parameters are ignored
    assert call(spec, nova, "GET", "flavors?colour=red", 200, "2.74")["flavors"]
    fault(nova, "GET", "flavors?colour=red", 400, "2.75")
    assert call(spec, nova, "GET", f"flavors?minRam={10**30}", 200)["flavors"] == []


def test_private_flavors_and_access(spec: ApiSpec | None, nova: ServiceClient, member: Callable[..., Member]) -> None:
    alice, bob = member(), member()
    private = new_flavor(nova, **{"os-flavor-access:is_public": False})
    public = new_flavor(nova)
    one, action = f"flavors/{private['id']}", f"flavors/{private['id']}/action"
    # only admins see it, and only when they ask for private flavors too
    assert private["name"] not in names_in(nova)
    assert private["name"] in names_in(nova, "flavors?is_public=false") and public["name"] not in names_in(nova, "flavors?is_public=false")
    assert {private["name"], public["name"]} <= names_in(nova, "flavors/detail?is_public=none")
    assert private["name"] not in names_in(alice.nova, "flavors?is_public=false")
    fault(alice.nova, "GET", one, 404)
    fault(alice.nova, "GET", f"{one}/os-extra_specs", 404)
    assert call(spec, nova, "GET", f"{one}/os-flavor-access", 200)["flavor_access"] == []
    # sharing with alice
    granted = nova.post(f"/{action}", json={"addTenantAccess": {"tenant": alice.project["id"]}})
    assert granted.status_code == 200, granted.text
    assert granted.json() == {"flavor_access": [{"flavor_id": private["id"], "tenant_id": alice.project["id"]}]}
    if spec is not None:
        validate_body(granted.json(), {**spec.components["schemas"]["FlavorsActionAddtenantaccessResponse"], "components": spec.components})
    assert private["name"] in names_in(alice.nova) and private["name"] in names_in(alice.nova, "flavors/detail")
    assert call(spec, alice.nova, "GET", one, 200)["flavor"]["os-flavor-access:is_public"] is False
    fault(bob.nova, "GET", one, 404)
    assert "already exists" in fault(nova, "POST", action, 409, json={"addTenantAccess": {"tenant": alice.project["id"]}})
    # members manage nothing
    fault(alice.nova, "GET", f"{one}/os-flavor-access", 403)
    fault(alice.nova, "POST", action, 403, json={"addTenantAccess": {"tenant": bob.project["id"]}})
    fault(alice.nova, "POST", "flavors", 403, json={"flavor": {"name": unique(), "ram": 1, "vcpus": 1, "disk": 1}})
    fault(alice.nova, "DELETE", one, 403)
    fault(alice.nova, "PUT", one, 403, "2.55", json={"flavor": {"description": "mine"}})
    # bad actions and unknown flavors
    fault(nova, "POST", action, 400, json={"addTenantAccess": {"tenant": ""}})
    fault(nova, "POST", action, 400, json={"addTenantAccess": {}})
    fault(nova, "POST", action, 400, json={"shareWithEveryone": {}})
    fault(nova, "POST", "flavors/no-such-flavor/action", 404, json={"addTenantAccess": {"tenant": alice.project["id"]}})
    fault(nova, "GET", "flavors/no-such-flavor/os-flavor-access", 404)
    # public flavors have no access list; from 2.7 they cannot be shared either
    assert "public" in fault(nova, "GET", f"flavors/{public['id']}/os-flavor-access", 404)
    fault(nova, "POST", f"flavors/{public['id']}/action", 409, "2.7", json={"addTenantAccess": {"tenant": bob.project["id"]}})
    call(spec, nova, "POST", f"flavors/{public['id']}/action", 200, "2.6", json={"addTenantAccess": {"tenant": bob.project["id"]}})
    # taking it back
    revoked = call(spec, nova, "POST", action, 200, json={"removeTenantAccess": {"tenant": alice.project["id"]}})
    assert revoked == {"flavor_access": []}
    fault(alice.nova, "GET", one, 404)
    fault(nova, "POST", action, 404, json={"removeTenantAccess": {"tenant": alice.project["id"]}})


def test_extra_specs(spec: ApiSpec | None, nova: ServiceClient, member: Callable[..., Member]) -> None:
    reader = member()
    flavor = new_flavor(nova)
    specs = f"flavors/{flavor['id']}/os-extra_specs"
    created = call(spec, nova, "POST", specs, 200, json={"extra_specs": {"hw:cpu_policy": "dedicated", "quota:cpu_shares": 1024}})
    assert created == {"extra_specs": {"hw:cpu_policy": "dedicated", "quota:cpu_shares": 1024}}  # Nova echoes the request
    assert call(spec, nova, "GET", specs, 200) == {"extra_specs": {"hw:cpu_policy": "dedicated", "quota:cpu_shares": "1024"}}
    call(spec, nova, "POST", specs, 200, json={"extra_specs": {"custom:colour": "blue"}})
    assert set(call(spec, nova, "GET", specs, 200)["extra_specs"]) == {"hw:cpu_policy", "quota:cpu_shares", "custom:colour"}
    assert call(spec, nova, "GET", f"{specs}/hw:cpu_policy", 200) == {"hw:cpu_policy": "dedicated"}
    assert call(spec, nova, "PUT", f"{specs}/hw:cpu_policy", 200, json={"hw:cpu_policy": "shared"}) == {"hw:cpu_policy": "shared"}
    assert "mismatch" in fault(nova, "PUT", f"{specs}/hw:cpu_policy", 400, json={"hw:numa_nodes": "1"})
    fault(nova, "PUT", f"{specs}/hw:cpu_policy", 400, json={"hw:cpu_policy": "shared", "hw:numa_nodes": "1"})
    fault(nova, "PUT", f"{specs}/hw:cpu_policy", 400, json={"hw:cpu_policy": True})
    fault(nova, "POST", specs, 400, json={"extra_specs": {"bad/key": "x"}})
    fault(nova, "POST", specs, 400, json={"extra_specs": {"long": "x" * 256}})
    fault(nova, "POST", specs, 400, json={"extra_specs": {"nested": {"a": 1}}})
    fault(nova, "POST", specs, 400, json={"extra_specs": ["a"]})
    fault(nova, "POST", specs, 400, json={"specs": {"a": "b"}})
    # the flavor view embeds them from 2.61, for admins and for readers alike
    assert call(spec, nova, "GET", f"flavors/{flavor['id']}", 200, "2.61")["flavor"]["extra_specs"]["hw:cpu_policy"] == "shared"
    assert call(spec, reader.nova, "GET", f"flavors/{flavor['id']}", 200, "2.61")["flavor"]["extra_specs"]["custom:colour"] == "blue"
    assert call(spec, reader.nova, "GET", f"{specs}/custom:colour", 200) == {"custom:colour": "blue"}
    fault(reader.nova, "POST", specs, 403, json={"extra_specs": {"a": "b"}})
    fault(reader.nova, "PUT", f"{specs}/custom:colour", 403, json={"custom:colour": "red"})
    fault(reader.nova, "DELETE", f"{specs}/custom:colour", 403)
    # deleting one: 200 with an empty body, as Nova (and Tempest) have it
    gone = nova.delete(f"/{specs}/custom:colour")
    assert gone.status_code == 200 and gone.content == b""
    assert "no extra specs with key" in fault(nova, "GET", f"{specs}/custom:colour", 404)
    fault(nova, "DELETE", f"{specs}/custom:colour", 404)
    fault(nova, "GET", "flavors/no-such-flavor/os-extra_specs", 404)
    assert set(call(spec, nova, "GET", specs, 200)["extra_specs"]) == {"hw:cpu_policy", "quota:cpu_shares"}


def test_openstack_cli(compute_osc: Any) -> None:
    def openstack(*args: str) -> str:
        return str(compute_osc(*args).stdout)

    name = unique("cli")
    made = openstack(
        "flavor",
        "create",
        "--ram",
        "1024",
        "--vcpus",
        "2",
        "--disk",
        "10",
        "--private",
        "--description",
        "via the CLI",
        "--property",
        "hw:cpu_policy=shared",
        "-f",
        "json",
        name,
    )
    assert '"ram": 1024' in made and "hw:cpu_policy" in made
    assert name in openstack("flavor", "list", "--all", "-f", "value", "-c", "Name")
    assert name not in openstack("flavor", "list", "--public", "-f", "value", "-c", "Name")
    openstack("flavor", "set", "--property", "quota:disk_read_bytes_sec=1000", "--project", "admin", name)
    shown = openstack("flavor", "show", "-f", "json", name)
    assert "quota:disk_read_bytes_sec" in shown and "via the CLI" in shown
    openstack("flavor", "unset", "--property", "hw:cpu_policy", name)
    assert "hw:cpu_policy" not in openstack("flavor", "show", "-f", "json", name)
    openstack("flavor", "delete", name)
    assert name not in openstack("flavor", "list", "--all", "-f", "value", "-c", "Name")


def test_openstacksdk(compute_sdk: Any) -> None:
    conn = compute_sdk
    name = unique("sdk")
    flavor = conn.compute.create_flavor(name=name, ram=2048, vcpus=1, disk=5, swap=0)
    assert conn.compute.find_flavor(name).id == flavor.id
    assert conn.compute.get_flavor(flavor.id).ram == 2048
    conn.compute.create_flavor_extra_specs(flavor, {"hw:numa_nodes": "1"})
    assert conn.compute.fetch_flavor_extra_specs(flavor).extra_specs == {"hw:numa_nodes": "1"}
    assert "m1.tiny" in {f.name for f in conn.compute.flavors()}
    conn.compute.delete_flavor(flavor)
    assert conn.compute.find_flavor(name) is None


def test_extra_spec_values_checked_from_2_86(spec: ApiSpec | None, nova: ServiceClient) -> None:
    flavor = new_flavor(nova)
    specs = f"flavors/{flavor['id']}/os-extra_specs"
    # before 2.86 Nova stores whatever it is given
    call(spec, nova, "POST", specs, 200, "2.85", json={"extra_specs": {"hw:cpu_policy": "greedy"}})
    for key, value in [("hw:cpu_policy", "greedy"), ("hw:numa_nodes", "0"), ("trait:HW_CPU_X86_AVX2", "wanted"), ("resources:VCPU", "-1")]:
        assert "Validation failed" in fault(nova, "POST", specs, 400, "2.86", json={"extra_specs": {key: value}})
    fault(nova, "PUT", f"{specs}/hw:cpu_policy", 400, "2.86", json={"hw:cpu_policy": "greedy"})
    good = {
        "hw:cpu_policy": "dedicated",
        "hw:numa_nodes": 2,
        "trait:HW_CPU_X86_AVX2": "required",
        "resources:VCPU": "0",
        "acme:anything": "goes",
    }
    call(spec, nova, "POST", specs, 200, "2.86", json={"extra_specs": good})
    stored = call(spec, nova, "GET", specs, 200)["extra_specs"]
    assert stored == {key: str(value) for key, value in good.items()}
