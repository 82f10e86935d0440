"""Auto-allocated topologies ("get me a network") and the default external network: the
cloud's defaults (is_default on an external network, default subnet pools), a project's
topology made on its first GET and the same one after, the dry run, Neutron's 409s when a
default is missing, isolation between projects, DELETE, nothing left behind when making
one fails half way, one topology when many first requests come at once (SQLite and
PostgreSQL), and the stock CLI.

A cloud of this module's own: the defaults it sets would change what other modules'
tests see (a default subnet pool, a default external network)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pocketstack.testing.server import LiveCloud
from tests.api.network.conftest import Tenant, fault, make_external, make_network, make_port, new_tenant, ok, start_network_cloud
from tests.conftest import Identity, ServiceClient, _drop_postgres_database, _postgres_database, admin_identity, cli_runner

PARALLEL = 10


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    live = start_network_cloud(tmp_path_factory.mktemp("auto-topology"))
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def admin(cloud: LiveCloud) -> Identity:
    return admin_identity(cloud)


@pytest.fixture(scope="module")
def neutron(admin: Identity) -> ServiceClient:
    return admin.service("/networking/v2.0")


def make_defaults(neutron: ServiceClient) -> dict[str, Any]:
    """What an operator sets up: the default external network and a shared default IPv4 pool."""
    public = make_external(neutron, "172.24.4.0/24", is_default=True)
    body = {"name": "shared-default", "prefixes": ["10.128.0.0/16"], "default_prefixlen": 26, "shared": True, "is_default": True}
    pool = ok(neutron.post("/subnetpools", json={"subnetpool": body}), 201)["subnetpool"]
    return {"public": public, "pool": pool}


@pytest.fixture(scope="module")
def defaults(neutron: ServiceClient) -> dict[str, Any]:
    return make_defaults(neutron)


@pytest.fixture
def member(cloud: LiveCloud, admin: Identity) -> Tenant:
    return new_tenant(cloud, admin)


def topology(client: ServiceClient, project_id: str, **params: Any) -> httpx.Response:
    return client.get(f"/auto-allocated-topology/{project_id}", params=params)


def owned(client: ServiceClient, collection: str, project_id: str) -> list[dict[str, Any]]:
    return list(ok(client.get(f"/{collection}", params={"project_id": project_id}))[collection])


def router_ports(client: ServiceClient, router_id: str) -> list[dict[str, Any]]:
    return list(ok(client.get("/ports", params={"device_id": router_id}))["ports"])


# -- the default external network --------------------------------------------------------------
def test_is_default_is_the_admins_and_one_external_network_has_it(neutron: ServiceClient, member: Tenant) -> None:
    first = make_external(neutron, "172.31.0.0/24")
    assert first["is_default"] is False
    assert "is_default" not in make_network(member.neutron)  # internal networks have none
    # only admins set it
    body = {"network": {"name": "x", "router:external": True, "is_default": True}}
    fault(member.neutron.post("/networks", json=body), 403, "PolicyNotAuthorized")
    fault(member.neutron.put(f"/networks/{first['id']}", json={"network": {"is_default": True}}), 403)
    shown = ok(neutron.put(f"/networks/{first['id']}", json={"network": {"is_default": True}}))["network"]
    assert shown["is_default"] is True
    listed = ok(neutron.get("/networks", params={"is_default": "true"}))["networks"]
    assert [network["id"] for network in listed] == [first["id"]]
    # a second default: Neutron's 409 naming the first
    second = make_external(neutron, "172.31.1.0/24")
    message = fault(neutron.put(f"/networks/{second['id']}", json={"network": {"is_default": True}}), 409, "DefaultExternalNetworkExists")
    assert message == f"A default external network already exists: {first['id']}."
    fault(neutron.post("/networks", json=body), 409, "DefaultExternalNetworkExists")
    # meaningless on an internal network: ignored, as Neutron does
    internal = ok(neutron.post("/networks", json={"network": {"name": "in", "is_default": True}}), 201)["network"]
    assert "is_default" not in internal
    # its "*" external entry stays while it is the default
    (entry,) = ok(neutron.get("/rbac-policies", params={"object_id": first["id"], "action": "access_as_external"}))["rbac_policies"]
    assert "Default external networks must be shared to everyone" in fault(
        neutron.delete(f"/rbac-policies/{entry['id']}"), 409, "RbacPolicyInUse"
    )
    # an external network that stops being external stops being the default
    ok(neutron.delete(f"/subnets/{first['subnet']['id']}"), 204)
    made_internal = ok(neutron.put(f"/networks/{first['id']}", json={"network": {"router:external": False}}))["network"]
    assert "is_default" not in made_internal
    again = ok(neutron.put(f"/networks/{first['id']}", json={"network": {"router:external": True}}))["network"]
    assert again["is_default"] is False
    for network in (first, second, internal):
        ok(neutron.delete(f"/networks/{network['id']}"), 204)


def test_the_extension_is_listed(neutron: ServiceClient) -> None:
    extension = ok(neutron.get("/extensions/auto-allocated-topology"))["extension"]
    assert extension["name"] == "Auto Allocated Topology Services"


# -- without the defaults ----------------------------------------------------------------------
def test_without_defaults_neutrons_409s_and_nothing_made(neutron: ServiceClient, defaults: dict[str, Any], member: Tenant) -> None:
    public, pool = defaults["public"], defaults["pool"]
    ok(neutron.put(f"/networks/{public['id']}", json={"network": {"is_default": False}}))
    ok(neutron.put(f"/subnetpools/{pool['id']}", json={"subnetpool": {"is_default": False}}))
    try:
        no_external = "Deployment error: No default router:external network."
        assert fault(topology(member.neutron, member.project_id, fields="dry-run"), 409, "AutoAllocationFailure") == no_external
        assert fault(topology(member.neutron, member.project_id), 409, "AutoAllocationFailure") == no_external
        # DELETE looks the topology up first, as Neutron's does, and so says the same
        assert fault(member.neutron.delete(f"/auto-allocated-topology/{member.project_id}"), 409) == no_external

        ok(neutron.put(f"/networks/{public['id']}", json={"network": {"is_default": True}}))
        message = fault(topology(member.neutron, member.project_id, fields="dry-run"), 409, "AutoAllocationFailure")
        assert message == "Deployment error: No default subnetpools defined."
        message = fault(topology(member.neutron, member.project_id), 409, "AutoAllocationFailure")
        assert message == "Deployment error: Unable to provide project private network."
        assert owned(neutron, "networks", member.project_id) == [] and owned(neutron, "routers", member.project_id) == []
    finally:
        ok(neutron.put(f"/networks/{public['id']}", json={"network": {"is_default": True}}))
        ok(neutron.put(f"/subnetpools/{pool['id']}", json={"subnetpool": {"is_default": True}}))


def test_a_default_pool_the_project_cannot_see_does_not_count(neutron: ServiceClient, defaults: dict[str, Any], member: Tenant) -> None:
    pool = defaults["pool"]
    ok(neutron.put(f"/subnetpools/{pool['id']}", json={"subnetpool": {"is_default": False}}))
    body = {"name": "private-default", "prefixes": ["10.129.0.0/16"], "default_prefixlen": 26, "is_default": True}
    private = ok(neutron.post("/subnetpools", json={"subnetpool": body}), 201)["subnetpool"]
    try:
        message = fault(topology(member.neutron, member.project_id, fields="dry-run"), 409)
        assert message == "Deployment error: No default subnetpools defined."
        # the admin sees every pool (Neutron's admin context does too)
        assert ok(topology(neutron, member.project_id, fields="dry-run"))["auto_allocated_topology"]["id"] == "dry-run=pass"
    finally:
        ok(neutron.delete(f"/subnetpools/{private['id']}"), 204)
        ok(neutron.put(f"/subnetpools/{pool['id']}", json={"subnetpool": {"is_default": True}}))


# -- the topology --------------------------------------------------------------------------
def test_a_member_gets_one_topology(neutron: ServiceClient, defaults: dict[str, Any], member: Tenant) -> None:
    client, project_id = member.neutron, member.project_id
    dry = ok(topology(client, project_id, fields="dry-run"))["auto_allocated_topology"]
    assert dry == {"id": "dry-run=pass", "project_id": project_id, "tenant_id": project_id}
    assert owned(neutron, "networks", project_id) == []  # a dry run makes nothing

    first = ok(topology(client, project_id))["auto_allocated_topology"]
    assert first == {"id": first["id"], "project_id": project_id, "tenant_id": project_id}
    assert ok(topology(client, project_id))["auto_allocated_topology"] == first  # the same one
    assert ok(topology(client, "None"))["auto_allocated_topology"] == first  # "None": the caller's project

    (network,) = owned(client, "networks", project_id)
    assert network["id"] == first["id"] and network["name"] == "auto_allocated_network"
    assert network["admin_state_up"] is True and network["shared"] is False and network["router:external"] is False
    (subnet,) = owned(client, "subnets", project_id)
    assert subnet["name"] == "auto_allocated_subnet_v4" and subnet["network_id"] == network["id"]
    assert subnet["subnetpool_id"] == defaults["pool"]["id"] and subnet["cidr"].startswith("10.128.") and subnet["cidr"].endswith("/26")
    (router,) = owned(client, "routers", project_id)
    assert router["name"] == "auto_allocated_router"
    assert router["external_gateway_info"]["network_id"] == defaults["public"]["id"]
    interfaces = [p for p in router_ports(client, router["id"]) if p["device_owner"] == "network:router_interface"]
    assert [p["fixed_ips"] for p in interfaces] == [[{"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}]]

    # only dry-run is a field here
    assert "Unrecognized field" in fault(topology(client, project_id, fields="id"), 400, "BadRequest")


def test_an_ipv6_default_pool_adds_an_ipv6_subnet(neutron: ServiceClient, defaults: dict[str, Any], member: Tenant) -> None:
    body = {"name": "default-v6", "prefixes": ["2001:db8:8000::/48"], "default_prefixlen": 64, "shared": True, "is_default": True}
    v6 = ok(neutron.post("/subnetpools", json={"subnetpool": body}), 201)["subnetpool"]
    try:
        network_id = ok(topology(member.neutron, member.project_id))["auto_allocated_topology"]["id"]
        made = {s["name"]: s for s in owned(member.neutron, "subnets", member.project_id)}
        assert set(made) == {"auto_allocated_subnet_v4", "auto_allocated_subnet_v6"}
        assert (
            made["auto_allocated_subnet_v6"]["cidr"] == "2001:db8:8000::/64"
            and made["auto_allocated_subnet_v6"]["network_id"] == network_id
        )
        (router,) = owned(member.neutron, "routers", member.project_id)
        connected = {held["subnet_id"] for port in router_ports(member.neutron, router["id"]) for held in port["fixed_ips"]}
        assert {s["id"] for s in made.values()} <= connected
        ok(member.neutron.delete(f"/auto-allocated-topology/{member.project_id}"), 204)
    finally:
        ok(neutron.delete(f"/subnetpools/{v6['id']}"), 204)


def test_projects_keep_to_their_own(
    cloud: LiveCloud, admin: Identity, neutron: ServiceClient, defaults: dict[str, Any], member: Tenant
) -> None:
    other = new_tenant(cloud, admin)
    mine = ok(topology(member.neutron, member.project_id))["auto_allocated_topology"]
    assert fault(topology(other.neutron, member.project_id), 403, "NotAuthorized") == "Not authorized."
    fault(topology(other.neutron, member.project_id, fields="dry-run"), 403, "NotAuthorized")
    fault(other.neutron.delete(f"/auto-allocated-topology/{member.project_id}"), 403, "NotAuthorized")
    # the admin: anyone's, made for them and owned by them
    assert ok(topology(neutron, member.project_id))["auto_allocated_topology"] == mine
    theirs = ok(topology(neutron, other.project_id))["auto_allocated_topology"]
    assert theirs["id"] != mine["id"] and theirs["project_id"] == other.project_id
    assert ok(other.neutron.get(f"/networks/{theirs['id']}"))["network"]["project_id"] == other.project_id
    ok(neutron.delete(f"/auto-allocated-topology/{other.project_id}"), 204)
    assert owned(neutron, "networks", other.project_id) == [] and owned(neutron, "routers", other.project_id) == []
    # a reader may look (and so make, as in Neutron), not delete
    reader = new_tenant(cloud, admin, "reader")
    made = ok(topology(reader.neutron, reader.project_id))["auto_allocated_topology"]
    fault(reader.neutron.delete(f"/auto-allocated-topology/{reader.project_id}"), 403, "PolicyNotAuthorized")
    ok(neutron.delete(f"/auto-allocated-topology/{reader.project_id}"), 204)
    fault(neutron.get(f"/networks/{made['id']}"), 404)


def test_delete_takes_it_all_down_or_nothing(neutron: ServiceClient, defaults: dict[str, Any], member: Tenant) -> None:
    client, project_id = member.neutron, member.project_id
    ok(client.delete(f"/auto-allocated-topology/{project_id}"), 204)  # none yet: nothing to do
    first = ok(topology(client, project_id))["auto_allocated_topology"]
    (router,) = owned(client, "routers", project_id)
    # a port of the project's on the network keeps everything in place
    port = make_port(client, first["id"])
    fault(client.delete(f"/auto-allocated-topology/{project_id}"), 409, "NetworkInUse")
    assert ok(topology(client, project_id))["auto_allocated_topology"] == first
    assert len(router_ports(neutron, router["id"])) == 2  # gateway and interface still there
    ok(client.delete(f"/ports/{port['id']}"), 204)

    ok(client.delete(f"/auto-allocated-topology/{project_id}"), 204)
    fault(client.get(f"/networks/{first['id']}"), 404)
    fault(client.get(f"/routers/{router['id']}"), 404)
    assert router_ports(neutron, router["id"]) == []  # the gateway went with the router
    assert owned(neutron, "subnets", project_id) == []
    # the next request makes a new one
    assert ok(topology(client, project_id))["auto_allocated_topology"]["id"] != first["id"]


def test_a_topology_taken_apart_by_hand(neutron: ServiceClient, defaults: dict[str, Any], member: Tenant) -> None:
    """The user removes the router themselves: the topology keeps its network and DELETE
    still takes that down."""
    client, project_id = member.neutron, member.project_id
    made = ok(topology(client, project_id))["auto_allocated_topology"]
    (router,) = owned(client, "routers", project_id)
    (subnet,) = owned(client, "subnets", project_id)
    ok(client.put(f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": subnet["id"]}))
    ok(client.delete(f"/routers/{router['id']}"), 204)
    assert ok(topology(client, project_id))["auto_allocated_topology"] == made
    ok(client.delete(f"/auto-allocated-topology/{project_id}"), 204)
    assert owned(neutron, "networks", project_id) == []


def test_a_failure_half_way_leaves_nothing(neutron: ServiceClient, defaults: dict[str, Any], member: Tenant) -> None:
    project_id = member.project_id
    # the network and subnet could be made, the router cannot: no network, no subnet either
    ok(neutron.put(f"/quotas/{project_id}", json={"quota": {"router": 0}}))
    fault(topology(member.neutron, project_id), 409, "OverQuota")
    for collection in ("networks", "subnets", "routers", "ports"):
        assert owned(neutron, collection, project_id) == [], collection
    ok(neutron.delete(f"/quotas/{project_id}"), 204)
    # a default pool with no room left: Neutron's 409, and again nothing made
    shared = defaults["pool"]
    ok(neutron.put(f"/subnetpools/{shared['id']}", json={"subnetpool": {"is_default": False}}))
    body = {"name": "full", "prefixes": ["10.130.0.0/26"], "default_prefixlen": 26, "shared": True, "is_default": True}
    full = ok(neutron.post("/subnetpools", json={"subnetpool": body}), 201)["subnetpool"]
    filler = make_network(neutron)
    taken = {"network_id": filler["id"], "ip_version": 4, "subnetpool_id": full["id"]}
    ok(neutron.post("/subnets", json={"subnet": taken}), 201)
    try:
        message = fault(topology(member.neutron, project_id), 409, "AutoAllocationFailure")
        assert message == "Deployment error: Unable to provide project private network."
        assert owned(neutron, "networks", project_id) == [] and owned(neutron, "routers", project_id) == []
    finally:
        ok(neutron.delete(f"/networks/{filler['id']}"), 204)
        ok(neutron.delete(f"/subnetpools/{full['id']}"), 204)
        ok(neutron.put(f"/subnetpools/{shared['id']}", json={"subnetpool": {"is_default": True}}))
    assert ok(topology(member.neutron, project_id))["auto_allocated_topology"]["project_id"] == project_id


# -- many first requests at once ---------------------------------------------------------------
def parallel_first_requests(client: ServiceClient, project_id: str) -> list[httpx.Response]:
    def fetch(_: int) -> httpx.Response:
        with httpx.Client(timeout=120) as http:
            return http.get(f"{client.base}/auto-allocated-topology/{project_id}", headers={"X-Auth-Token": client.token})

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(fetch, range(PARALLEL)))


def assert_one_topology(neutron: ServiceClient, project_id: str, replies: list[httpx.Response]) -> None:
    assert Counter(reply.status_code for reply in replies) == {200: PARALLEL}, [r.text for r in replies if r.status_code != 200][:3]
    assert len({reply.json()["auto_allocated_topology"]["id"] for reply in replies}) == 1
    assert len(owned(neutron, "networks", project_id)) == 1
    assert len(owned(neutron, "routers", project_id)) == 1


def test_first_requests_at_once_make_one_topology(
    cloud: LiveCloud, admin: Identity, neutron: ServiceClient, defaults: dict[str, Any]
) -> None:
    tenant = new_tenant(cloud, admin)
    assert_one_topology(neutron, tenant.project_id, parallel_first_requests(tenant.neutron, tenant.project_id))


@pytest.fixture(scope="module")
def postgres_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    made = _postgres_database()
    if made is None:
        pytest.skip("no PostgreSQL server answers")
    live: LiveCloud | None = None
    try:
        live = start_network_cloud(tmp_path_factory.mktemp("auto-topology-pg"), made[1])
        yield live
    finally:
        if live is not None:
            live.stop()
        _drop_postgres_database(made[0])


def test_first_requests_at_once_make_one_topology_on_postgresql(postgres_cloud: LiveCloud) -> None:
    """Transactions really run side by side here: the topology's key decides."""
    admin = admin_identity(postgres_cloud)
    neutron = admin.service("/networking/v2.0")
    make_defaults(neutron)
    for _ in range(2):
        tenant = new_tenant(postgres_cloud, admin)
        assert_one_topology(neutron, tenant.project_id, parallel_first_requests(tenant.neutron, tenant.project_id))


# -- the stock CLI ---------------------------------------------------------------------------
def test_cli(cloud: LiveCloud, neutron: ServiceClient, defaults: dict[str, Any], member: Tenant) -> None:
    osc, env = cli_runner(cloud), member.env()
    checked = osc("network", "auto", "allocated", "topology", "create", "--check-resources", "-f", "json", env=env)
    assert checked.returncode == 0
    assert owned(neutron, "networks", member.project_id) == []
    made = osc("network", "auto", "allocated", "topology", "create", "-f", "json", env=env).stdout
    shown = json.loads(made)
    assert shown["project_id"] == member.project_id
    assert ok(topology(member.neutron, member.project_id))["auto_allocated_topology"]["id"] == shown["id"]
    public = osc("network", "show", defaults["public"]["id"], "-f", "json").stdout
    assert json.loads(public)["is_default"] is True
    osc("network", "auto", "allocated", "topology", "delete", env=env)
    assert owned(neutron, "networks", member.project_id) == []
    # the admin for a project (the CLI passes --project on as it is: an id)
    osc("network", "auto", "allocated", "topology", "create", "--project", member.project_id)
    assert [n["name"] for n in owned(neutron, "networks", member.project_id)] == ["auto_allocated_network"]
    osc("network", "auto", "allocated", "topology", "delete", "--project", member.project_id)
    assert owned(neutron, "networks", member.project_id) == []
