"""A cloud with the networking service switched on (it is off by default until the
dataplane exists), and clients for it: the admin, fresh projects with a member user,
the stock CLI and openstacksdk.

NETWORK_TEST_DATABASE=postgresql runs the same tests on a throw-away PostgreSQL database
(the local server at POCKETSTACK_TEST_PG); SQLite otherwise."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from pocketstack.testing.server import LiveCloud
from tests.conftest import (
    Identity,
    ServiceClient,
    _drop_postgres_database,
    _postgres_database,
    admin_identity,
    cli_runner,
    login,
    make_project,
    make_user,
    sdk_connection,
)

NETWORK_SERVICES = ["identity", "image", "network"]


def start_network_cloud(data_dir: Any, database_url: str | None = None) -> LiveCloud:
    env = {"POCKETSTACK_SERVICES": json.dumps(NETWORK_SERVICES)}
    return LiveCloud(data_dir, database_url=database_url, extra_env=env).start()


@pytest.fixture(scope="session")
def network_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    made = None
    if os.environ.get("NETWORK_TEST_DATABASE") == "postgresql":
        made = _postgres_database()
        if made is None:
            pytest.skip("no PostgreSQL server answers")
    live = start_network_cloud(tmp_path_factory.mktemp("network-cloud"), made[1] if made else None)
    try:
        yield live
    finally:
        live.stop()
        if made:
            _drop_postgres_database(made[0])


@pytest.fixture(scope="session")
def network_admin(network_cloud: LiveCloud) -> Identity:
    return admin_identity(network_cloud)


@pytest.fixture(scope="session")
def neutron(network_admin: Identity) -> ServiceClient:
    """The admin on /networking/v2.0."""
    return network_admin.service("/networking/v2.0")


@dataclass
class Tenant:
    """A project with one user of some role, logged in to the networking API."""

    cloud: LiveCloud
    project: dict[str, Any]
    user: dict[str, Any]
    password: str
    identity: Identity
    neutron: ServiceClient

    @property
    def project_id(self) -> str:
        return str(self.project["id"])

    def env(self) -> dict[str, str]:
        """OS_* variables for running the CLI as this user."""
        env = self.cloud.env("admin")
        env.update(
            {
                "OS_USERNAME": self.user["name"],
                "OS_PASSWORD": self.password,
                "OS_PROJECT_NAME": self.project["name"],
                "OS_USER_DOMAIN_NAME": "Default",
                "OS_PROJECT_DOMAIN_NAME": "Default",
            }
        )
        return env


def new_tenant(cloud: LiveCloud, admin: Identity, role: str = "member") -> Tenant:
    project = make_project(admin)
    user, password = make_user(admin, project["id"], role)
    identity = login(cloud, user, password, project["id"])
    return Tenant(cloud, project, user, password, identity, identity.service("/networking/v2.0"))


@pytest.fixture(scope="session")
def tenant(network_cloud: LiveCloud, network_admin: Identity) -> Callable[..., Tenant]:
    """A factory: a new project with one user of the given role, and its network client."""
    return lambda role="member": new_tenant(network_cloud, network_admin, role)


@pytest.fixture(scope="module")
def alice(tenant: Callable[..., Tenant]) -> Tenant:
    return tenant()


@pytest.fixture(scope="module")
def bob(tenant: Callable[..., Tenant]) -> Tenant:
    return tenant()


@pytest.fixture(scope="session")
def network_osc(network_cloud: LiveCloud) -> Any:
    """The stock `openstack` CLI as this cloud's admin."""
    return cli_runner(network_cloud)


@pytest.fixture(scope="session")
def network_sdk(network_cloud: LiveCloud) -> Any:
    """An openstacksdk Connection as this cloud's admin."""
    return sdk_connection(network_cloud)


def ok(reply: httpx.Response, status: int = 200) -> Any:
    """The JSON body of a reply that must have `status`."""
    assert reply.status_code == status, f"{reply.request.method} {reply.request.url}: {reply.status_code} {reply.text[:600]}"
    return reply.json() if reply.content else None


def fault(reply: httpx.Response, status: int, kind: str | None = None) -> str:
    """A NeutronError reply: its status, its type (if given); returns the message."""
    assert reply.status_code == status, f"{reply.request.method} {reply.request.url}: {reply.status_code} {reply.text[:600]}"
    error = reply.json()["NeutronError"]
    assert set(error) == {"type", "message", "detail"}
    if kind is not None:
        assert error["type"] == kind, error
    return str(error["message"])


def make_network(client: ServiceClient, **fields: Any) -> dict[str, Any]:
    return ok(client.post("/networks", json={"network": {"name": "net", **fields}}), 201)["network"]


def make_subnet(client: ServiceClient, network_id: str, cidr: str = "10.0.0.0/24", **fields: Any) -> dict[str, Any]:
    body = {"network_id": network_id, "cidr": cidr, "ip_version": 6 if ":" in cidr else 4, **fields}
    return ok(client.post("/subnets", json={"subnet": body}), 201)["subnet"]


def make_port(client: ServiceClient, network_id: str, **fields: Any) -> dict[str, Any]:
    return ok(client.post("/ports", json={"port": {"network_id": network_id, **fields}}), 201)["port"]


def make_external(admin: ServiceClient, cidr: str = "172.24.4.0/24", **fields: Any) -> dict[str, Any]:
    """An external network (the admin's, open to every project) with one IPv4 subnet;
    returns the network with its "subnet"."""
    network = make_network(admin, **{"name": "public", "router:external": True, **fields})
    network["subnet"] = make_subnet(admin, network["id"], cidr)
    return network


def make_router(client: ServiceClient, **fields: Any) -> dict[str, Any]:
    return ok(client.post("/routers", json={"router": {"name": "router", **fields}}), 201)["router"]


def add_interface(client: ServiceClient, router_id: str, **body: str) -> dict[str, Any]:
    return ok(client.put(f"/routers/{router_id}/add_router_interface", json=body))
