"""Response bodies of the networking API match Neutron's OpenAPI description
(../shared/api-specs/openapi/specs/network/v2.yaml, with the errata in
pocketstack/testing/spec.py), and every error body is a NeutronError."""

from __future__ import annotations

from typing import Any

import pytest

from pocketstack.testing.spec import ApiSpec, load_spec, validate_body
from tests.api.network.conftest import Tenant
from tests.conftest import ServiceClient

NEUTRON_ERROR = {
    "type": "object",
    "required": ["NeutronError"],
    "properties": {
        "NeutronError": {
            "type": "object",
            "required": ["type", "message", "detail"],
            "additionalProperties": False,
            "properties": {
                "type": {"type": "string", "minLength": 1},
                "message": {"type": "string", "minLength": 1},
                "detail": {"type": "string"},
            },
        }
    },
}


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    loaded = load_spec("network")
    if loaded is None:
        pytest.skip("../shared/api-specs (the OpenAPI descriptions) is not present")
    return loaded


def call(spec: ApiSpec, client: ServiceClient, method: str, path: str, expected: int, **kw: Any) -> Any:
    reply = client.request(method, path, **kw)
    assert reply.status_code == expected, f"{method} {path}: {reply.status_code} {reply.text[:500]}"
    body = reply.json() if reply.content else {}
    spec.check(method, "/v2.0" + path.split("?")[0], expected, body)
    if expected >= 400:
        validate_body(body, NEUTRON_ERROR, f"{method} {path}")
    return body


def test_network_subnet_port_operations(spec: ApiSpec, alice: Tenant, neutron: ServiceClient) -> None:
    for client in (alice.neutron, neutron):  # a member's view and the admin's (provider, binding)
        network = call(spec, client, "POST", "/networks", 201, json={"network": {"name": "spec", "tags": ["t"]}})["network"]
        net = f"/networks/{network['id']}"
        call(spec, client, "GET", net, 200)
        call(spec, client, "PUT", net, 200, json={"network": {"description": "d"}})
        call(spec, client, "GET", "/networks?limit=1", 200)
        call(spec, client, "GET", "/networks", 200)
        v4 = call(
            spec, client, "POST", "/subnets", 201, json={"subnet": {"network_id": network["id"], "cidr": "10.60.0.0/24", "ip_version": 4}}
        )
        call(
            spec,
            client,
            "POST",
            "/subnets",
            201,
            json={"subnet": {"network_id": network["id"], "cidr": "fd60::/64", "ip_version": 6, "gateway_ip": None}},
        )
        sub = f"/subnets/{v4['subnet']['id']}"
        call(spec, client, "GET", sub, 200)
        call(spec, client, "PUT", sub, 200, json={"subnet": {"dns_nameservers": ["10.60.0.2"]}})
        call(spec, client, "GET", "/subnets", 200)
        port = call(
            spec,
            client,
            "POST",
            "/ports",
            201,
            json={"port": {"network_id": network["id"], "allowed_address_pairs": [{"ip_address": "10.60.0.200"}]}},
        )
        one = f"/ports/{port['port']['id']}"
        call(spec, client, "GET", one, 200)
        call(spec, client, "PUT", one, 200, json={"port": {"name": "p"}})
        call(spec, client, "GET", "/ports", 200)
        call(spec, client, "GET", f"{net}/tags", 200)
        call(spec, client, "PUT", f"{net}/tags", 200, json={"tags": ["a", "b"]})
        call(spec, client, "PUT", f"{net}/tags/c", 201)
        call(spec, client, "GET", f"{net}/tags/c", 204)
        call(spec, client, "DELETE", f"{net}/tags/c", 204)
        call(spec, client, "DELETE", f"{net}/tags", 204)
        call(spec, client, "DELETE", one, 204)
        call(spec, client, "DELETE", sub, 204)
        call(spec, client, "DELETE", net, 204)


def test_security_group_quota_and_discovery_operations(spec: ApiSpec, alice: Tenant, neutron: ServiceClient) -> None:
    client = alice.neutron
    call(spec, client, "GET", "/security-groups", 200)
    group = call(spec, client, "POST", "/security-groups", 201, json={"security_group": {"name": "spec"}})["security_group"]
    path = f"/security-groups/{group['id']}"
    call(spec, client, "GET", path, 200)
    call(spec, client, "PUT", path, 200, json={"security_group": {"description": "d"}})
    rule = {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
    made = call(spec, client, "POST", "/security-group-rules", 201, json={"security_group_rule": rule})["security_group_rule"]
    call(spec, client, "GET", f"/security-group-rules/{made['id']}", 200)
    call(spec, client, "GET", "/security-group-rules", 200)
    call(spec, client, "DELETE", f"/security-group-rules/{made['id']}", 204)
    call(spec, client, "DELETE", path, 204)
    call(spec, neutron, "GET", "/quotas", 200)
    call(spec, neutron, "GET", f"/quotas/{alice.project_id}", 200)
    call(spec, neutron, "GET", f"/quotas/{alice.project_id}/default", 200)
    call(spec, neutron, "GET", f"/quotas/{alice.project_id}/details", 200)
    call(spec, neutron, "PUT", f"/quotas/{alice.project_id}", 200, json={"quota": {"port": 400}})
    call(spec, neutron, "DELETE", f"/quotas/{alice.project_id}", 204)
    network = call(spec, client, "POST", "/networks", 201, json={"network": {}})["network"]
    share = {"object_type": "network", "object_id": network["id"], "action": "access_as_shared", "target_tenant": neutron_project(neutron)}
    policy = call(spec, client, "POST", "/rbac-policies", 201, json={"rbac_policy": share})["rbac_policy"]
    call(spec, client, "GET", f"/rbac-policies/{policy['id']}", 200)
    call(spec, client, "GET", "/rbac-policies", 200)
    call(spec, client, "PUT", f"/rbac-policies/{policy['id']}", 200, json={"rbac_policy": {"target_tenant": alice.project_id}})
    call(spec, client, "DELETE", f"/rbac-policies/{policy['id']}", 204)
    call(spec, client, "GET", "/extensions", 200)
    call(spec, client, "GET", "/extensions/quotas", 200)
    call(spec, client, "GET", "/availability_zones", 200)


def neutron_project(client: ServiceClient) -> str:
    """The admin's project (another project to share with)."""
    return str(
        client.service("/identity/v3").get("/auth/tokens", headers={"X-Subject-Token": client.token}).json()["token"]["project"]["id"]
    )


def test_error_bodies(spec: ApiSpec, alice: Tenant) -> None:
    call(spec, alice.neutron, "GET", "/networks/9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49", 404)
    call(spec, alice.neutron, "POST", "/networks", 400, json={"network": {"bogus": 1}})
    call(spec, alice.neutron, "POST", "/networks", 403, json={"network": {"shared": True}})
    call(spec, alice.neutron, "GET", "/ports?fixed_ips=nonsense", 400)
