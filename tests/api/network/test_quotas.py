"""Quotas: Neutron's defaults, per-project limits set and reset by admins, usage in
/details, enforcement on create (409 OverQuota), who may read them, the CLI and SDK."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.api.network.conftest import Tenant, fault, make_network, make_port, make_subnet, ok
from tests.conftest import ServiceClient

DEFAULTS = {
    "network": 100,
    "subnet": 100,
    "port": 500,
    "router": 10,
    "floatingip": 50,
    "security_group": 10,
    "security_group_rule": 100,
    "rbac_policy": 10,
    "subnetpool": -1,
}


def test_defaults_and_details(tenant: Callable[..., Tenant], neutron: ServiceClient) -> None:
    owner = tenant()
    assert ok(neutron.get(f"/quotas/{owner.project_id}"))["quota"] == DEFAULTS
    default = ok(neutron.get(f"/quotas/{owner.project_id}/default"))["quota"]
    assert {k: v for k, v in default.items() if k in DEFAULTS} == DEFAULTS
    network = make_network(owner.neutron)
    make_subnet(owner.neutron, network["id"])
    make_port(owner.neutron, network["id"])
    details = ok(owner.neutron.get(f"/quotas/{owner.project_id}/details"))["quota"]
    assert details["network"] == {"limit": 100, "used": 1, "reserved": 0}
    assert details["subnet"]["used"] == 1 and details["port"]["used"] == 1
    assert details["security_group"]["used"] == 1  # the default group the port needed
    assert details["security_group_rule"]["used"] == 4


def test_admins_set_and_reset_limits(tenant: Callable[..., Tenant], neutron: ServiceClient) -> None:
    owner = tenant()
    path = f"/quotas/{owner.project_id}"
    updated = ok(neutron.put(path, json={"quota": {"network": 1, "port": "3"}}))["quota"]
    assert updated == {**DEFAULTS, "network": 1, "port": 3}
    assert owner.project_id in [q["project_id"] for q in ok(neutron.get("/quotas"))["quotas"]]
    make_network(owner.neutron)
    assert "Quota exceeded for resources: ['network']" in fault(owner.neutron.post("/networks", json={"network": {}}), 409, "OverQuota")
    # a limit below the usage needs force
    assert "must be greater than or equal to already used 1" in fault(neutron.put(path, json={"quota": {"network": 0}}), 400)
    assert ok(neutron.put(path, json={"quota": {"network": 0, "force": True}}))["quota"]["network"] == 0
    ok(neutron.put(path, json={"quota": {"network": -1}}))  # -1: no limit
    network = make_network(owner.neutron)
    ok(owner.neutron.post("/ports", json={"ports": [{"network_id": network["id"]}] * 3}), 201)
    fault(owner.neutron.post("/ports", json={"port": {"network_id": network["id"]}}), 409, "OverQuota")
    assert neutron.delete(path).status_code == 204
    assert ok(neutron.get(path))["quota"] == DEFAULTS
    assert owner.project_id not in [q["project_id"] for q in ok(neutron.get("/quotas"))["quotas"]]


def test_a_bulk_over_quota_makes_nothing(tenant: Callable[..., Tenant], neutron: ServiceClient) -> None:
    owner = tenant()
    ok(neutron.put(f"/quotas/{owner.project_id}", json={"quota": {"network": 2}}))
    fault(owner.neutron.post("/networks", json={"networks": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}), 409, "OverQuota")
    assert ok(owner.neutron.get(f"/networks?project_id={owner.project_id}"))["networks"] == []


def test_bad_limits(neutron: ServiceClient, alice: Tenant) -> None:
    path = f"/quotas/{alice.project_id}"
    assert "Unrecognized attribute(s) 'volumes'" in fault(neutron.put(path, json={"quota": {"volumes": 3}}), 400)
    assert "must be at least '-1'" in fault(neutron.put(path, json={"quota": {"network": -5}}), 400)
    assert "is not an integer" in fault(neutron.put(path, json={"quota": {"network": "lots"}}), 400)
    fault(neutron.put(path, json={"quotas": {}}), 400)


def test_members_read_their_own_quotas_only(alice: Tenant, bob: Tenant) -> None:
    assert ok(alice.neutron.get(f"/quotas/{alice.project_id}"))["quota"]["network"] >= -1
    fault(alice.neutron.get(f"/quotas/{bob.project_id}"), 403, "PolicyNotAuthorized")
    fault(alice.neutron.put(f"/quotas/{alice.project_id}", json={"quota": {"network": 1000}}), 403, "PolicyNotAuthorized")
    fault(alice.neutron.delete(f"/quotas/{alice.project_id}"), 403, "PolicyNotAuthorized")
    assert ok(alice.neutron.get("/quotas"))["quotas"] in (
        [],
        [q for q in ok(alice.neutron.get("/quotas"))["quotas"] if q["project_id"] == alice.project_id],
    )


def test_cli_and_sdk_quotas(network_osc: Any, network_sdk: Any, tenant: Callable[..., Tenant]) -> None:
    owner = tenant()
    network_osc("quota", "set", "--networks", "7", "--ports", "70", owner.project_id)
    shown = json.loads(network_osc("quota", "show", "--network", owner.project_id, "-f", "json").stdout)
    limits = {row["Resource"]: row["Limit"] for row in shown}
    assert (limits["networks"], limits["ports"], limits["subnets"]) == (7, 70, 100)
    quota = network_sdk.network.get_quota(owner.project_id)
    assert (quota.networks, quota.ports) == (7, 70)
    network_sdk.network.update_quota(owner.project_id, subnets=9)
    assert network_sdk.network.get_quota(owner.project_id, details=True).subnets["limit"] == 9
