"""Network RBAC policies: sharing a network with one project (or, for admins, with all),
offering it as external, what the project let in may then do, and taking access back
only when nothing of theirs depends on it; the CLI and openstacksdk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.network.conftest import Tenant, fault, make_network, make_port, make_subnet, ok
from tests.conftest import ServiceClient, unique


def share(client: ServiceClient, network_id: str, target: str, action: str = "access_as_shared", **extra: Any) -> Any:
    body = {"object_type": "network", "object_id": network_id, "action": action, "target_tenant": target, **extra}
    return client.post("/rbac-policies", json={"rbac_policy": body})


@pytest.fixture
def trio(tenant: Callable[..., Tenant]) -> tuple[Tenant, Tenant, Tenant]:
    return tenant(), tenant(), tenant()


def test_sharing_with_one_project(trio: tuple[Tenant, Tenant, Tenant]) -> None:
    a, b, c = trio
    network = make_network(a.neutron)
    subnet = make_subnet(a.neutron, network["id"], "10.70.0.0/24")
    fault(b.neutron.get(f"/networks/{network['id']}"), 404, "NetworkNotFound")
    policy = ok(share(a.neutron, network["id"], b.project_id), 201)["rbac_policy"]
    assert policy == {
        "id": policy["id"],
        "project_id": a.project_id,
        "tenant_id": a.project_id,
        "object_type": "network",
        "object_id": network["id"],
        "action": "access_as_shared",
        "target_tenant": b.project_id,
        "target_project": b.project_id,
    }
    # B sees it as shared, with its subnet, and may put ports on it; C still sees nothing
    assert ok(b.neutron.get(f"/networks/{network['id']}"))["network"]["shared"] is True
    assert ok(a.neutron.get(f"/networks/{network['id']}"))["network"]["shared"] is False  # not shared with everyone
    assert ok(b.neutron.get(f"/subnets/{subnet['id']}"))["subnet"]["id"] == subnet["id"]
    port = make_port(b.neutron, network["id"])
    assert port["project_id"] == b.project_id
    fault(c.neutron.get(f"/networks/{network['id']}"), 404, "NetworkNotFound")
    fault(c.neutron.post("/ports", json={"port": {"network_id": network["id"]}}), 404, "NetworkNotFound")
    # policies are their granter's to see
    assert [p["id"] for p in ok(a.neutron.get("/rbac-policies"))["rbac_policies"]] == [policy["id"]]
    assert ok(b.neutron.get("/rbac-policies"))["rbac_policies"] == []
    fault(b.neutron.get(f"/rbac-policies/{policy['id']}"), 404, "RbacPolicyNotFound")
    # access is not taken away from under B's port
    message = fault(a.neutron.delete(f"/rbac-policies/{policy['id']}"), 409, "RbacPolicyInUse")
    assert network["id"] in message
    fault(a.neutron.put(f"/rbac-policies/{policy['id']}", json={"rbac_policy": {"target_tenant": c.project_id}}), 409, "RbacPolicyInUse")
    ok(b.neutron.delete(f"/ports/{port['id']}"), 204)
    moved = ok(a.neutron.put(f"/rbac-policies/{policy['id']}", json={"rbac_policy": {"target_tenant": c.project_id}}))["rbac_policy"]
    assert moved["target_project"] == c.project_id
    fault(b.neutron.get(f"/networks/{network['id']}"), 404, "NetworkNotFound")
    assert ok(c.neutron.get(f"/networks/{network['id']}"))["network"]["shared"] is True
    assert a.neutron.delete(f"/rbac-policies/{policy['id']}").status_code == 204
    fault(c.neutron.get(f"/networks/{network['id']}"), 404, "NetworkNotFound")


def test_sharing_with_everyone_is_the_admins(trio: tuple[Tenant, Tenant, Tenant], neutron: ServiceClient) -> None:
    a, b, _ = trio
    network = make_network(a.neutron)
    assert "create_rbac_policy:target_tenant" in fault(share(a.neutron, network["id"], "*"), 403, "PolicyNotAuthorized")
    policy = ok(share(neutron, network["id"], "*"), 201)["rbac_policy"]
    assert ok(a.neutron.get(f"/networks/{network['id']}"))["network"]["shared"] is True
    assert ok(b.neutron.get(f"/networks/{network['id']}"))["network"]["shared"] is True
    assert policy["id"] in [p["id"] for p in ok(neutron.get(f"/rbac-policies?object_id={network['id']}"))["rbac_policies"]]
    assert neutron.delete(f"/rbac-policies/{policy['id']}").status_code == 204
    assert ok(a.neutron.get(f"/networks/{network['id']}"))["network"]["shared"] is False
    # shared=True is the same wildcard entry; it is one change of the network
    before = ok(neutron.get(f"/networks/{network['id']}"))["network"]["revision_number"]
    after = ok(neutron.put(f"/networks/{network['id']}", json={"network": {"shared": True}}))["network"]["revision_number"]
    assert after == before + 1
    (wildcard,) = ok(neutron.get(f"/rbac-policies?object_id={network['id']}&action=access_as_shared"))["rbac_policies"]
    assert wildcard["target_tenant"] == "*"


def test_external_access(trio: tuple[Tenant, Tenant, Tenant], neutron: ServiceClient) -> None:
    a, b, c = trio
    network = make_network(neutron, name=unique("ext"))
    policy = ok(share(neutron, network["id"], b.project_id, action="access_as_external"), 201)["rbac_policy"]
    assert ok(neutron.get(f"/networks/{network['id']}"))["network"]["router:external"] is True
    seen = ok(b.neutron.get(f"/networks/{network['id']}"))["network"]
    assert seen["router:external"] is True and seen["shared"] is False
    fault(b.neutron.post("/ports", json={"port": {"network_id": network["id"]}}), 404, "NetworkNotFound")
    fault(c.neutron.get(f"/networks/{network['id']}"), 404, "NetworkNotFound")
    assert neutron.delete(f"/rbac-policies/{policy['id']}").status_code == 204
    assert ok(neutron.get(f"/networks/{network['id']}"))["network"]["router:external"] is False
    # router:external=True is the wildcard external entry
    ok(neutron.put(f"/networks/{network['id']}", json={"network": {"router:external": True}}))
    assert ok(c.neutron.get(f"/networks/{network['id']}"))["network"]["router:external"] is True
    del a


def test_bad_policies(trio: tuple[Tenant, Tenant, Tenant], neutron: ServiceClient) -> None:
    a, b, _ = trio
    network = make_network(a.neutron)
    ok(share(a.neutron, network["id"], b.project_id), 201)
    fault(share(a.neutron, network["id"], b.project_id), 409, "DuplicateRbacPolicy")
    assert "is not a valid RBAC object type" in fault(
        share(a.neutron, network["id"], b.project_id, object_type="router"), 400, "InvalidInput"
    )
    assert "Invalid action 'access_as_owner'" in fault(share(a.neutron, network["id"], b.project_id, action="access_as_owner"), 400)
    assert "expected a UUID or '*'" in fault(share(a.neutron, network["id"], "somebody"), 400)
    fault(share(b.neutron, network["id"], b.project_id), 400, "InvalidInput")  # B sees it, but it is not B's to share
    fault(share(b.neutron, make_network(neutron)["id"], b.project_id), 404, "NetworkNotFound")
    fault(share(a.neutron, "9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49", b.project_id), 404, "NetworkNotFound")
    body = {"rbac_policy": {"object_type": "network", "object_id": network["id"], "action": "access_as_shared"}}
    fault(a.neutron.post("/rbac-policies", json=body), 400)
    fault(a.neutron.put(f"/rbac-policies/{network['id']}", json={"rbac_policy": {"target_tenant": b.project_id}}), 404)


def test_rbac_quota(tenant: Callable[..., Tenant], neutron: ServiceClient) -> None:
    a, b = tenant(), tenant()
    ok(neutron.put(f"/quotas/{a.project_id}", json={"quota": {"rbac_policy": 1}}))
    first, second = make_network(a.neutron), make_network(a.neutron)
    ok(share(a.neutron, first["id"], b.project_id), 201)
    fault(share(a.neutron, second["id"], b.project_id), 409, "OverQuota")


def test_cli_and_sdk_rbac(network_osc: Any, network_sdk: Any, tenant: Callable[..., Tenant]) -> None:
    guest = tenant()
    name = unique("cli-rbac")
    network_osc("network", "create", name)
    out = network_osc(
        "network", "rbac", "create", "--target-project", guest.project_id, "--action", "access_as_shared", "--type", "network", name,
        "-f", "value", "-c", "id",
    ).stdout.strip()  # fmt: skip
    listed = network_osc("network", "rbac", "list", "-f", "value", "-c", "ID").stdout.split()
    assert out in listed
    assert guest.project_id in network_osc("network", "rbac", "show", out, "-f", "json").stdout
    network_osc("network", "rbac", "delete", out)
    network = network_sdk.network.find_network(name)
    policy = network_sdk.network.create_rbac_policy(
        object_type="network", object_id=network.id, action="access_as_shared", target_project_id=guest.project_id
    )
    assert network_sdk.network.get_rbac_policy(policy.id).target_project_id == guest.project_id
    network_sdk.network.delete_rbac_policy(policy)
    network_osc("network", "delete", name)
