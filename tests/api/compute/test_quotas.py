"""os-quota-sets, os-quota-class-sets and GET /limits against a live cloud: Nova's
documents at each microversion, limits per project and per user with Nova's settable
ranges, usage counted from servers (rows written straight into the database: servers
are not this test's subject), the keypair quota, and the stock clients."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pocketstack.config import ComputeSettings
from pocketstack.core.faults import Forbidden
from pocketstack.services.compute.backend.quotas import check_quotas, limit_of
from pocketstack.testing.spec import ApiSpec
from tests.api.compute.conftest import Member
from tests.api.compute.fakes import Records
from tests.api.compute.helpers import LATEST, checked, mv
from tests.conftest import ServiceClient

NETWORK_KEYS = {"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}
INJECTED_KEYS = {"injected_files", "injected_file_content_bytes", "injected_file_path_bytes"}
CURRENT_KEYS = {"instances", "cores", "ram", "metadata_items", "key_pairs", "server_groups", "server_group_members"}
NOVA_DEFAULTS = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "metadata_items": 128,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
    "key_pairs": 100,
    "server_groups": 10,
    "server_group_members": 10,
    **dict.fromkeys(NETWORK_KEYS, -1),
}


def fault(reply: httpx.Response, status: int, key: str) -> str:
    assert reply.status_code == status, reply.text
    return str(reply.json()[key]["message"])


@pytest.fixture()
def user(member: Callable[..., Member]) -> Member:
    return member()


# -- show, defaults, microversions ---------------------------------------------------------------


def test_new_project_shows_nova_defaults_at_each_microversion(nova: ServiceClient, user: Member) -> None:
    project_id = user.project["id"]
    old = nova.get(f"/os-quota-sets/{project_id}").json()["quota_set"]
    assert old == {"id": project_id, **NOVA_DEFAULTS}
    at_236 = nova.get(f"/os-quota-sets/{project_id}", headers=mv("2.36")).json()["quota_set"]
    assert set(at_236) == {"id"} | CURRENT_KEYS | INJECTED_KEYS
    at_257 = nova.get(f"/os-quota-sets/{project_id}", headers=mv("2.57")).json()["quota_set"]
    assert set(at_257) == {"id"} | CURRENT_KEYS
    defaults = nova.get(f"/os-quota-sets/{project_id}/defaults", headers=LATEST).json()["quota_set"]
    assert defaults == {"id": project_id, **{k: NOVA_DEFAULTS[k] for k in CURRENT_KEYS}}


def test_latest_documents_match_the_spec(spec: ApiSpec | None, nova: ServiceClient, user: Member) -> None:
    project_id = user.project["id"]
    for tail in ("", "/detail", "/defaults"):
        path = f"/os-quota-sets/{project_id}{tail}"
        checked(spec, nova.get(path, headers=LATEST), "GET", path, 200)
    checked(spec, nova.get("/os-quota-class-sets/default", headers=LATEST), "GET", "/os-quota-class-sets/default", 200)
    checked(spec, nova.get("/limits", headers=LATEST), "GET", "/limits", 200)


def test_members_read_their_own_quotas_only(user: Member, member: Callable[..., Member]) -> None:
    own = user.project["id"]
    assert user.nova.get(f"/os-quota-sets/{own}", headers=LATEST).json()["quota_set"]["instances"] == 10
    assert user.nova.get(f"/os-quota-sets/{own}/detail", headers=LATEST).status_code == 200
    # anyone may read the defaults (Nova's rule for them is empty)
    assert user.nova.get(f"/os-quota-sets/{own}/defaults", headers=LATEST).status_code == 200
    other = member().project["id"]
    fault(user.nova.get(f"/os-quota-sets/{other}", headers=LATEST), 403, "forbidden")
    fault(user.nova.put(f"/os-quota-sets/{own}", json={"quota_set": {"instances": 50}}, headers=LATEST), 403, "forbidden")
    fault(user.nova.delete(f"/os-quota-sets/{own}"), 403, "forbidden")
    fault(user.nova.get("/os-quota-class-sets/default"), 403, "forbidden")


def test_unknown_project_is_a_bad_request(nova: ServiceClient) -> None:
    message = fault(nova.get("/os-quota-sets/no-such-project"), 400, "badRequest")
    assert message == "Project ID no-such-project is not a valid project."
    fault(nova.put("/os-quota-sets/no-such-project", json={"quota_set": {"instances": 1}}), 400, "badRequest")


# -- update and delete -----------------------------------------------------------------------------


def test_update_show_and_delete_back_to_defaults(spec: ApiSpec | None, nova: ServiceClient, user: Member) -> None:
    project_id = user.project["id"]
    path = f"/os-quota-sets/{project_id}"
    # numbers may come as strings of digits, as Nova's schema allows
    updated = checked(spec, nova.put(path, json={"quota_set": {"instances": 3, "cores": "7", "ram": -1}}, headers=LATEST), "PUT", path, 200)
    assert "id" not in updated["quota_set"]  # Nova's update answer has no id
    assert updated["quota_set"] | {} == {**{k: NOVA_DEFAULTS[k] for k in CURRENT_KEYS}, "instances": 3, "cores": 7, "ram": -1}
    shown = nova.get(path, headers=LATEST).json()["quota_set"]
    assert (shown["instances"], shown["cores"], shown["ram"]) == (3, 7, -1)
    deleted = nova.delete(path)
    assert deleted.status_code == 202 and not deleted.content
    assert nova.get(path, headers=LATEST).json()["quota_set"]["instances"] == 10


def test_update_refuses_unknown_and_out_of_range_values(nova: ServiceClient, user: Member) -> None:
    path = f"/os-quota-sets/{user.project['id']}"
    for bad in (
        {"instances": -2},
        {"instances": "ten"},
        {"instances": 2**31},
        {"instances": True},
        {"instances": None},
        {"networks": 1},
        {"force": "maybe"},
    ):
        fault(nova.put(path, json={"quota_set": bad}, headers=LATEST), 400, "badRequest")
    fault(nova.put(path, json={"quotas": {"instances": 1}}), 400, "badRequest")
    # nova-network's quotas are accepted until 2.36, personality files until 2.57
    assert nova.put(path, json={"quota_set": {"floating_ips": 5}}, headers=mv("2.35")).status_code == 200
    fault(nova.put(path, json={"quota_set": {"floating_ips": 5}}, headers=mv("2.36")), 400, "badRequest")
    assert nova.put(path, json={"quota_set": {"injected_files": 2}}, headers=mv("2.56")).status_code == 200
    fault(nova.put(path, json={"quota_set": {"injected_files": 2}}, headers=mv("2.57")), 400, "badRequest")
    assert nova.get(path).json()["quota_set"]["injected_files"] == 2
    # at 2.75 a query parameter Nova does not know is refused
    fault(nova.get(path + "?bogus=1", headers=mv("2.75")), 400, "badRequest")
    assert nova.get(path + "?bogus=1", headers=mv("2.74")).status_code == 200
    nova.delete(path)


def test_limits_below_usage_need_force(nova: ServiceClient, user: Member, records: Records) -> None:
    project_id, user_id = user.project["id"], user.user["id"]
    servers = [records.add_server(project_id, user_id, vcpus=2, memory_mb=1024) for _ in range(3)]
    try:
        path = f"/os-quota-sets/{project_id}"
        message = fault(nova.put(path, json={"quota_set": {"instances": 2}}), 400, "badRequest")
        assert message == "Quota limit 2 for instances must be greater than or equal to already used and reserved 3."
        fault(nova.put(path, json={"quota_set": {"cores": 5}}), 400, "badRequest")
        forced = nova.put(path, json={"quota_set": {"instances": 2, "force": True}}, headers=LATEST)
        assert forced.status_code == 200 and forced.json()["quota_set"]["instances"] == 2
        detail = nova.get(f"{path}/detail", headers=LATEST).json()["quota_set"]
        assert detail["instances"] == {"in_use": 3, "limit": 2, "reserved": 0}
        assert detail["cores"] == {"in_use": 6, "limit": 20, "reserved": 0}
        assert detail["ram"] == {"in_use": 3072, "limit": 51200, "reserved": 0}
        # a deleted server no longer counts
        records.mark_deleted(servers[0])
        assert nova.get(f"{path}/detail", headers=LATEST).json()["quota_set"]["instances"]["in_use"] == 2
    finally:
        records.remove_servers(servers)
        nova.delete(f"/os-quota-sets/{project_id}")


def test_user_quotas_fit_inside_the_project(nova: ServiceClient, user: Member, records: Records) -> None:
    project_id, user_id = user.project["id"], user.user["id"]
    path = f"/os-quota-sets/{project_id}"
    assert nova.put(path, json={"quota_set": {"instances": 6}}).status_code == 200
    as_user = f"{path}?user_id={user_id}"
    # the user inherits the project's limits until given their own
    assert nova.get(as_user, headers=LATEST).json()["quota_set"]["instances"] == 6
    message = fault(nova.put(as_user, json={"quota_set": {"instances": 7}}), 400, "badRequest")
    assert message == "Quota limit 7 for instances must be less than or equal to 6."
    assert nova.put(as_user, json={"quota_set": {"instances": 4}}).json()["quota_set"]["instances"] == 4
    assert nova.get(as_user, headers=LATEST).json()["quota_set"]["instances"] == 4
    assert nova.get(path, headers=LATEST).json()["quota_set"]["instances"] == 6
    # the project may not drop below what its users were given
    message = fault(nova.put(path, json={"quota_set": {"instances": 3}}), 400, "badRequest")
    assert message.endswith("already used and reserved 4.")
    # a user's usage counts against the user's limit
    servers = [records.add_server(project_id, user_id) for _ in range(2)]
    try:
        user_detail = nova.get(f"{path}/detail?user_id={user_id}", headers=LATEST).json()["quota_set"]
        assert user_detail["instances"] == {"in_use": 2, "limit": 4, "reserved": 0}
        fault(nova.put(as_user, json={"quota_set": {"instances": 1}}), 400, "badRequest")
    finally:
        records.remove_servers(servers)
    # deleting the user's limits leaves the project's
    assert nova.delete(as_user).status_code == 202
    assert nova.get(as_user, headers=LATEST).json()["quota_set"]["instances"] == 6
    nova.delete(path)


# -- quota classes ------------------------------------------------------------------------------


@pytest.fixture()
def restore_default_class(nova: ServiceClient) -> Iterator[None]:
    before = nova.get("/os-quota-class-sets/default").json()["quota_class_set"]
    yield
    before.pop("id")
    assert nova.put("/os-quota-class-sets/default", json={"quota_class_set": before}).status_code == 200


def test_quota_class_documents_per_microversion(nova: ServiceClient) -> None:
    old = nova.get("/os-quota-class-sets/default").json()["quota_class_set"]
    # before 2.50 the server-group quotas are missing from classes (bug 1693168)
    assert set(old) == {"id"} | (CURRENT_KEYS - {"server_groups", "server_group_members"}) | NETWORK_KEYS | INJECTED_KEYS
    at_250 = nova.get("/os-quota-class-sets/default", headers=mv("2.50")).json()["quota_class_set"]
    assert set(at_250) == {"id"} | CURRENT_KEYS | INJECTED_KEYS
    latest = nova.get("/os-quota-class-sets/default", headers=LATEST).json()["quota_class_set"]
    assert latest["id"] == "default" and set(latest) == {"id"} | CURRENT_KEYS


def test_default_class_sets_what_projects_get(nova: ServiceClient, user: Member, restore_default_class: None) -> None:
    project_id = user.project["id"]
    updated = nova.put("/os-quota-class-sets/default", json={"quota_class_set": {"instances": 25, "key_pairs": "40"}}, headers=LATEST)
    assert updated.status_code == 200, updated.text
    assert "id" not in updated.json()["quota_class_set"]
    assert updated.json()["quota_class_set"]["instances"] == 25
    assert nova.get(f"/os-quota-sets/{project_id}/defaults", headers=LATEST).json()["quota_set"]["instances"] == 25
    shown = nova.get(f"/os-quota-sets/{project_id}", headers=LATEST).json()["quota_set"]
    assert (shown["instances"], shown["key_pairs"]) == (25, 40)
    # another class is stored and shown, but no project uses it
    other = nova.put("/os-quota-class-sets/gold", json={"quota_class_set": {"cores": 99}}, headers=LATEST)
    assert other.json()["quota_class_set"]["cores"] == 99
    assert nova.get("/os-quota-class-sets/gold", headers=LATEST).json()["quota_class_set"]["instances"] == NOVA_DEFAULTS["instances"]
    assert nova.get(f"/os-quota-sets/{project_id}", headers=LATEST).json()["quota_set"]["cores"] == 20
    fault(nova.put("/os-quota-class-sets/default", json={"quota_class_set": {"fixed_ips": 1}}, headers=mv("2.50")), 400, "badRequest")


# -- limits --------------------------------------------------------------------------------------


def test_limits_per_microversion_with_usage(user: Member, records: Records) -> None:
    project_id, user_id = user.project["id"], user.user["id"]
    servers = [records.add_server(project_id, user_id, vcpus=2, memory_mb=2048) for _ in range(2)]
    try:
        old = user.nova.get("/limits").json()["limits"]
        assert old["rate"] == []
        assert old["absolute"] == {
            "maxImageMeta": 128,
            "maxPersonality": 5,
            "maxPersonalitySize": 10240,
            "maxSecurityGroupRules": -1,
            "maxSecurityGroups": -1,
            "maxServerMeta": 128,
            "maxTotalCores": 20,
            "maxTotalFloatingIps": -1,
            "maxTotalInstances": 10,
            "maxTotalKeypairs": 100,
            "maxTotalRAMSize": 51200,
            "maxServerGroups": 10,
            "maxServerGroupMembers": 10,
            "totalCoresUsed": 4,
            "totalInstancesUsed": 2,
            "totalRAMUsed": 4096,
            "totalSecurityGroupsUsed": 0,
            "totalFloatingIpsUsed": 0,
            "totalServerGroupsUsed": 0,
        }
        at_236 = user.nova.get("/limits", headers=mv("2.36")).json()["limits"]["absolute"]
        assert "maxTotalFloatingIps" not in at_236 and "totalSecurityGroupsUsed" not in at_236 and "maxImageMeta" in at_236
        assert "maxImageMeta" not in user.nova.get("/limits", headers=mv("2.39")).json()["limits"]["absolute"]
        latest = user.nova.get("/limits", headers=LATEST).json()["limits"]["absolute"]
        assert set(latest) == {
            "maxServerMeta",
            "maxTotalCores",
            "maxTotalInstances",
            "maxTotalKeypairs",
            "maxTotalRAMSize",
            "maxServerGroups",
            "maxServerGroupMembers",
            "totalCoresUsed",
            "totalInstancesUsed",
            "totalRAMUsed",
            "totalServerGroupsUsed",
        }
    finally:
        records.remove_servers(servers)


def test_limits_of_another_project_are_for_admins(nova: ServiceClient, user: Member, member: Callable[..., Member]) -> None:
    project_id = user.project["id"]
    nova.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"instances": 4}})
    try:
        assert nova.get(f"/limits?tenant_id={project_id}", headers=LATEST).json()["limits"]["absolute"]["maxTotalInstances"] == 4
        assert user.nova.get("/limits", headers=LATEST).json()["limits"]["absolute"]["maxTotalInstances"] == 4
        other = member()
        fault(other.nova.get(f"/limits?tenant_id={project_id}"), 403, "forbidden")
        fault(user.nova.get("/limits?bogus=1", headers=mv("2.75")), 400, "badRequest")
    finally:
        nova.delete(f"/os-quota-sets/{project_id}")


# -- enforcement: keypairs ------------------------------------------------------------------------


def test_keypair_quota_is_enforced(nova: ServiceClient, user: Member) -> None:
    from tests.api.compute.test_keypairs import ssh_public_key

    project_id = user.project["id"]
    nova.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"key_pairs": 1}})
    try:
        first = user.nova.post("/os-keypairs", json={"keypair": {"name": "one", "public_key": ssh_public_key()}}, headers=LATEST)
        assert first.status_code == 201, first.text
        refused = user.nova.post("/os-keypairs", json={"keypair": {"name": "two", "public_key": ssh_public_key()}}, headers=LATEST)
        assert fault(refused, 403, "forbidden") == "Quota exceeded, too many key pairs."
        nova.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"key_pairs": -1}})
        again = user.nova.post("/os-keypairs", json={"keypair": {"name": "two", "public_key": ssh_public_key()}}, headers=LATEST)
        assert again.status_code == 201, again.text
    finally:
        nova.delete(f"/os-quota-sets/{project_id}")


# -- the stock clients ---------------------------------------------------------------------------------


def test_openstack_cli(compute_osc: Any, user: Member) -> None:
    project_id = user.project["id"]
    compute_osc("quota", "set", "--instances", "7", "--cores", "9", "--key-pairs", "11", project_id)
    shown = json.loads(compute_osc("quota", "show", "--compute", "-f", "json", project_id).stdout)
    flat = {
        str(k).lower().replace(" ", "_").replace("-", "_"): v
        for k, v in (shown.items() if isinstance(shown, dict) else ((r["Resource"], r["Limit"]) for r in shown))
    }
    assert flat["instances"] == 7 and flat["cores"] == 9 and flat["key_pairs"] == 11
    limits = json.loads(compute_osc("limits", "show", "--absolute", "--project", project_id, "-f", "json").stdout)
    # the CLI names the limits by openstacksdk's attributes
    assert {row["Name"]: row["Value"] for row in limits}["instances"] == 7
    compute_osc("quota", "delete", "--compute", project_id)
    shown = json.loads(compute_osc("quota", "show", "--compute", "-f", "json", project_id).stdout)
    flat = {str(k).lower(): v for k, v in (shown.items() if isinstance(shown, dict) else ((r["Resource"], r["Limit"]) for r in shown))}
    assert flat["instances"] == 10


def test_openstacksdk(compute_sdk: Any, user: Member) -> None:
    conn = compute_sdk
    project_id = user.project["id"]
    conn.compute.update_quota_set(project_id, instances=5, ram=4096)
    quota = conn.compute.get_quota_set(project_id)
    assert (quota.instances, quota.ram) == (5, 4096)
    detail = conn.compute.get_quota_set(project_id, usage=True)
    assert detail.usage["instances"] == 0 and detail.instances == 5
    defaults = conn.compute.get_quota_set_defaults(project_id)
    assert defaults.instances == 10
    conn.compute.revert_quota_set(project_id)
    assert conn.compute.get_quota_set(project_id).instances == 10
    limits = conn.compute.get_limits()
    assert limits.absolute.instances == 10 and limits.absolute.total_cores_used >= 0


# -- the check server create calls ----------------------------------------------------------------


def test_check_quotas_for_server_create(nova: ServiceClient, user: Member, records: Records) -> None:
    project_id, user_id = user.project["id"], user.user["id"]
    settings = ComputeSettings()
    nova.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"instances": 3, "cores": 4, "ram": -1}})
    servers = [records.add_server(project_id, user_id, vcpus=1, memory_mb=512) for _ in range(2)]
    try:
        with records.db.read() as db:
            check_quotas(db, settings, project_id, user_id, {"instances": 1, "cores": 2, "ram": 99999})
            with pytest.raises(Forbidden) as refused:
                check_quotas(db, settings, project_id, user_id, {"instances": 2, "cores": 2, "ram": 1024})
            assert refused.value.message == "Quota exceeded for instances: Requested 2, but already used 2 of 3 instances"
            with pytest.raises(Forbidden) as refused:
                check_quotas(db, settings, project_id, user_id, {"instances": 2, "cores": 4, "ram": 1024})
            assert (
                refused.value.message
                == "Quota exceeded for instances, cores: Requested 2, 4, but already used 2, 2 of 3, 4 instances, cores"
            )
            # a request that takes nothing more of a resource is not refused for it
            check_quotas(db, settings, project_id, user_id, {"instances": 0, "cores": 0})
            # the other resources refuse in Nova's own words for them
            with pytest.raises(Forbidden, match="^Maximum number of metadata items exceeds 128$"):
                check_quotas(db, settings, project_id, user_id, {"metadata_items": 129})
            check_quotas(db, settings, project_id, user_id, {"metadata_items": 128})
        # a user's own, lower limit applies as well
        nova.put(f"/os-quota-sets/{project_id}?user_id={user_id}", json={"quota_set": {"instances": 2}})
        with records.db.read() as db:
            with pytest.raises(Forbidden, match="Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"):
                check_quotas(db, settings, project_id, user_id, {"instances": 1})
            # another user of the project is held by the project's limit only
            check_quotas(db, settings, project_id, "someone-else", {"instances": 1})
            assert limit_of(db, settings, project_id, "metadata_items") == 128
    finally:
        records.remove_servers(servers)
        nova.delete(f"/os-quota-sets/{project_id}")
